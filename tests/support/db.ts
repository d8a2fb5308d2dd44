/**
 * Real stores for tests, each fresh and migrated: an SQLite file, a MariaDB database on the server
 * `scripts/services.sh` started (KNOT_TEST_MYSQL), or a key prefix of its own on the Redis server it
 * started (KNOT_TEST_REDIS). `env` holds the KNOT_* variables with which a child process (a real
 * `knot worker`) opens the same store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import knexFactory from 'knex';
import { createDb, createSqlStore, type Db, type DbTarget } from '../../store/sql';
import { createRedisStore } from '../../store/redis';
import type { Store, StoreKind } from '../../store/store';

export type { StoreKind };

function need(name: 'KNOT_TEST_MYSQL' | 'KNOT_TEST_REDIS'): URL {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts MariaDB and Redis`);
  return new URL(v);
}

/** Every store kind: the test command always provisions MariaDB and Redis. */
export function storeKinds(): StoreKind[] {
  need('KNOT_TEST_MYSQL');
  need('KNOT_TEST_REDIS');
  return ['sqlite', 'mysql', 'redis'];
}

/** The SQL kinds, for what only SQL has (migrations, raw tables). */
export function sqlKinds(): ('sqlite' | 'mysql')[] {
  need('KNOT_TEST_MYSQL');
  return ['sqlite', 'mysql'];
}

export interface TestStore {
  kind: StoreKind;
  store: Store;
  /** the knex pool of a SQL store */
  sql: Db | null;
  /** KNOT_* variables that open this same store in another process */
  env: Record<string, string>;
  /** every byte the store holds (all rows of every table, or every key and value under the prefix), for "is this secret stored anywhere" checks */
  rawDump(): Promise<string>;
  cleanup(): Promise<void>;
}

async function sqlDump(db: Db): Promise<string> {
  const tables = ['users', 'groups', 'group_members', 'api_tokens', 'sessions', 'templates', 'template_versions', 'template_variables', 'spaces', 'space_volumes', 'operations', 'operation_steps', 'events', 'audit_log', 'agent_state'];
  const out: string[] = [];
  for (const t of tables) out.push(JSON.stringify(await db(t).select('*')));
  return out.join('\n');
}

async function redisDump(redis: Redis, prefix: string): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string' ? await redis.get(key) : type === 'hash' ? await redis.hgetall(key) : type === 'set' ? await redis.smembers(key) : type === 'zset' ? await redis.zrange(key, 0, -1) : type === 'list' ? await redis.lrange(key, 0, -1) : type;
      out.push(`${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return out.join('\n');
}

/** A server-level connection (no database selected) for creating and dropping test databases. */
async function asMysqlAdmin(url: URL, run: (admin: ReturnType<typeof knexFactory>) => Promise<unknown>): Promise<void> {
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
  });
  try {
    await run(admin);
  } finally {
    await admin.destroy();
  }
}

function sqlEnv(t: DbTarget): Record<string, string> {
  if (t.client === 'sqlite') return { KNOT_SERVER_SQLITE_ENABLED: 'true', KNOT_SERVER_SQLITE_PATH: t.filename, KNOT_SERVER_MYSQL_ENABLED: 'false', KNOT_SERVER_REDIS_ENABLED: 'false' };
  return {
    KNOT_SERVER_MYSQL_ENABLED: 'true',
    KNOT_SERVER_REDIS_ENABLED: 'false',
    KNOT_SERVER_MYSQL_HOST: t.host,
    KNOT_SERVER_MYSQL_PORT: String(t.port),
    KNOT_SERVER_MYSQL_USER: t.user,
    KNOT_SERVER_MYSQL_PASSWORD: t.password,
    KNOT_SERVER_MYSQL_DATABASE: t.database,
  };
}

export async function createTestStore(kind: StoreKind, opts: { migrate?: boolean } = {}): Promise<TestStore> {
  const migrate = opts.migrate !== false;
  if (kind === 'redis') {
    const url = need('KNOT_TEST_REDIS');
    const prefix = `knot-test-${randomBytes(6).toString('hex')}:`;
    const redis = new Redis({ host: url.hostname, port: Number(url.port), lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, autoResendUnfulfilledCommands: false });
    await redis.connect();
    const store = createRedisStore(redis, { prefix, ownsConnection: true, location: `${url.host} (prefix ${prefix})` });
    if (migrate) await store.migrate();
    return {
      kind,
      store,
      sql: null,
      env: { KNOT_SERVER_REDIS_ENABLED: 'true', KNOT_SERVER_REDIS_HOST: url.host, KNOT_SERVER_REDIS_PREFIX: prefix, KNOT_SERVER_MYSQL_ENABLED: 'false' },
      rawDump: () => redisDump(redis, prefix),
      async cleanup() {
        await store.migrateDown().catch(() => undefined);
        await store.close();
      },
    };
  }
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-test-'));
    const target: DbTarget = { client: 'sqlite', filename: path.join(dir, 'knot.db') };
    const sql = createDb(target);
    const store = createSqlStore(sql, target);
    if (migrate) await store.migrate();
    return {
      kind,
      store,
      sql,
      env: sqlEnv(target),
      rawDump: () => sqlDump(sql),
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = need('KNOT_TEST_MYSQL');
  const database = `knot_test_${randomBytes(6).toString('hex')}`;
  await asMysqlAdmin(url, (admin) => admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
  const target: DbTarget = { client: 'mysql', host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database };
  const sql = createDb(target);
  const store = createSqlStore(sql, target);
  if (migrate) await store.migrate();
  return {
    kind,
    store,
    sql,
    env: sqlEnv(target),
    rawDump: () => sqlDump(sql),
    async cleanup() {
      await store.close();
      await asMysqlAdmin(url, (admin) => admin.raw(`DROP DATABASE IF EXISTS \`${database}\``));
    },
  };
}
