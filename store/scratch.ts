/**
 * A fresh, empty, migrated store of any kind for tests and benchmarks (the role of coder's
 * dbtestutil): an SQLite file in a temp dir, a new database on a MariaDB server, or a key prefix of
 * its own on a Redis server. `cleanup()` removes it again. `env` holds the KNOT_* variables with
 * which another process (a real `knot worker`) opens the same store; `rawDump()` every byte it
 * holds, for "is this secret stored anywhere" checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import knexFactory from 'knex';
import { createRedisStore } from './redis';
import { createDb, createSqlStore, type Db, type DbTarget } from './sql';
import type { Store, StoreKind } from './store';

export interface ScratchServers {
  /** mysql://user:password@host:port (a user allowed to create databases) */
  mysql?: string;
  /** redis://host:port */
  redis?: string;
}

export interface ScratchStore {
  kind: StoreKind;
  store: Store;
  /** the knex pool of a SQL store, for SQL-only checks */
  sql: Db | null;
  /** KNOT_* variables that open this same store in another process */
  env: Record<string, string>;
  rawDump(): Promise<string>;
  cleanup(): Promise<void>;
}

const SQL_TABLES = ['users', 'groups', 'group_members', 'api_tokens', 'sessions', 'templates', 'template_versions', 'template_variables', 'spaces', 'space_volumes', 'operations', 'operation_steps', 'events', 'audit_log', 'agent_state', 'agent_tokens', 'ssh_keys'];

async function sqlDump(db: Db): Promise<string> {
  const out: string[] = [];
  for (const t of SQL_TABLES) out.push(JSON.stringify(await db(t).select('*')));
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
        type === 'string' ? await redis.get(key) : type === 'hash' ? await redis.hgetall(key) : type === 'set' ? await redis.smembers(key) : type === 'zset' ? await redis.zrange(key, 0, -1) : type;
      out.push(`${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return out.join('\n');
}

/** A server-level connection (no database selected) for creating and dropping scratch databases. */
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

function serverOf(servers: ScratchServers, kind: 'mysql' | 'redis'): URL {
  const url = servers[kind];
  if (!url) throw new Error(`a scratch ${kind} store needs a ${kind} server URL`);
  return new URL(url);
}

export async function openScratchStore(kind: StoreKind, servers: ScratchServers = {}, opts: { migrate?: boolean } = {}): Promise<ScratchStore> {
  const migrate = opts.migrate !== false;
  if (kind === 'redis') {
    const url = serverOf(servers, 'redis');
    const prefix = `knot-scratch-${randomBytes(6).toString('hex')}:`;
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
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-scratch-'));
    return sqlScratch({ client: 'sqlite', filename: path.join(dir, 'knot.db') }, migrate, async () => rmSync(dir, { recursive: true, force: true }));
  }
  const url = serverOf(servers, 'mysql');
  const database = `knot_scratch_${randomBytes(6).toString('hex')}`;
  await asMysqlAdmin(url, (admin) => admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
  const target: DbTarget = { client: 'mysql', host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database };
  return sqlScratch(target, migrate, () => asMysqlAdmin(url, (admin) => admin.raw(`DROP DATABASE IF EXISTS \`${database}\``)));
}

/** A SQL scratch store on `target`; `remove` deletes the file or database once the pool is closed. */
async function sqlScratch(target: DbTarget, migrate: boolean, remove: () => Promise<void>): Promise<ScratchStore> {
  const sql = createDb(target);
  const store = createSqlStore(sql, target);
  if (migrate) await store.migrate();
  return {
    kind: target.client,
    store,
    sql,
    env: sqlEnv(target),
    rawDump: () => sqlDump(sql),
    async cleanup() {
      await store.close();
      await remove();
    },
  };
}
