/**
 * Real databases for tests: a fresh SQLite file, or a fresh MariaDB database on the server that
 * `scripts/services.sh` started (KNOT_TEST_MYSQL). Each call gets its own, migrated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { createDb, migrateLatest, type Db, type DbTarget } from '../../store/db';

export type DbKind = 'sqlite' | 'mysql';

/** Both kinds when MariaDB is provisioned; the test command always provisions it. */
export function dbKinds(): DbKind[] {
  if (!process.env.KNOT_TEST_MYSQL) {
    throw new Error('KNOT_TEST_MYSQL is not set: run the tests with `npm test`, which starts MariaDB');
  }
  return ['sqlite', 'mysql'];
}

export interface TestDb {
  db: Db;
  target: DbTarget;
  cleanup(): Promise<void>;
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

export async function createTestDb(kind: DbKind, migrate = true): Promise<TestDb> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-test-'));
    const target: DbTarget = { client: 'sqlite', filename: path.join(dir, 'knot.db') };
    const db = createDb(target);
    if (migrate) await migrateLatest(db);
    return {
      db,
      target,
      async cleanup() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = new URL(process.env.KNOT_TEST_MYSQL!);
  const database = `knot_test_${randomBytes(6).toString('hex')}`;
  await asMysqlAdmin(url, (admin) => admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
  const target: DbTarget = {
    client: 'mysql',
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
  };
  const db = createDb(target);
  if (migrate) await migrateLatest(db);
  return {
    db,
    target,
    async cleanup() {
      await db.destroy();
      await asMysqlAdmin(url, (admin) => admin.raw(`DROP DATABASE IF EXISTS \`${database}\``));
    },
  };
}
