/**
 * knex for MySQL/MariaDB (mysql2) or SQLite (better-sqlite3), and the migration runner. On first
 * start the migrations create every table ("on first run knot will create the required tables").
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { KnotConfig } from '../../core/config';
import { migrationSource } from '../../migrations';

export type Db = Knex;
/** What the SQL repositories run their queries on: the pool, or a transaction of the caller's. */
export type Queryable = Knex | Knex.Transaction;

export type SqlKind = 'sqlite' | 'mysql';

export type DbTarget =
  | { client: 'sqlite'; filename: string }
  | { client: 'mysql'; host: string; port: number; user: string; password: string; database: string; connectionLimit?: number };

export function dbTargetFromConfig(cfg: KnotConfig, mysqlHost?: { host: string; port: number }): DbTarget {
  const m = cfg.server.mysql;
  if (m.enabled) {
    return {
      client: 'mysql',
      host: mysqlHost?.host ?? m.host,
      port: mysqlHost?.port ?? m.port,
      user: m.user,
      password: m.password,
      database: m.database,
      connectionLimit: m.connection_limit,
    };
  }
  return { client: 'sqlite', filename: cfg.server.sqlite.path };
}

interface SqliteConnection {
  pragma(s: string): unknown;
  prepare(sql: string): unknown;
}

/** How many distinct statements one SQLite connection keeps prepared (knex's SQL texts repeat: a few hundred at most). */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * knex prepares every query anew; with better-sqlite3 that compile was a seventh of a request's
 * CPU on hot paths (authentication, the port proxy). Statements are reusable and SQLite
 * re-prepares them itself after a schema change, so one per SQL text is kept (knex never sets a
 * per-statement mode here: no query passes safeIntegers). When full, the cache starts over.
 */
export function cachePreparedStatements(conn: SqliteConnection): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}

export function createDb(target: DbTarget): Db {
  if (target.client === 'sqlite') {
    if (target.filename !== ':memory:') mkdirSync(path.dirname(path.resolve(target.filename)), { recursive: true });
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      // one connection: SQLite serialises writers anyway, and a single handle avoids SQLITE_BUSY
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) => {
          try {
            cachePreparedStatements(conn);
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            conn.pragma('foreign_keys = ON');
            conn.pragma('busy_timeout = 5000');
            done(null, conn);
          } catch (e) {
            done(e as Error, conn);
          }
        },
      },
    });
  }
  return knexFactory({
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: 5000,
    },
    pool: { min: 0, max: target.connectionLimit ?? 10, acquireTimeoutMillis: 10_000 },
    acquireConnectionTimeout: 10_000,
  });
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export async function migrateDown(db: Db): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}

export async function dbReachable(db: Db): Promise<boolean> {
  try {
    await db.raw('select 1');
    return true;
  } catch {
    return false;
  }
}

/** A unique index refused the write (either driver). */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; errno?: number; message?: string };
  return (
    err.code === 'ER_DUP_ENTRY' ||
    err.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed|Duplicate entry/.test(err.message ?? '')
  );
}

/** 0/1 from either driver → boolean */
export function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}

export function toJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string' || text === '') return fallback;
  return JSON.parse(text) as T;
}
