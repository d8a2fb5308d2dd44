/**
 * Reads on the hot API path (authentication, the space list and a space) without knex's query
 * builder and runner where that is safe: on SQLite outside a transaction, a prepared statement of
 * the one pooled connection runs directly, in array mode, and rows are built by a per-statement
 * factory with a fixed shape. Measured on a 10,000-space store (bench/RESULTS.md §15): knex spent
 * ~30 µs of CPU per query around a 5–8 µs statement, and better-sqlite3's own row objects cost
 * more than twice its arrays (a 51-row page: 243 vs 104 µs).
 *
 * The connection is taken from knex's pool (max 1 on SQLite) and given back in the same tick (or,
 * when it lies idle in the pool, used there for one synchronous statement), so a read never runs
 * inside someone else's open transaction: it waits for the pool as a knex query would. Inside a transaction (and on MySQL/MariaDB) the same SQL runs through knex (`raw`). The
 * SQL must therefore be portable: `?` placeholders, backquoted identifiers.
 */
import type { Knex } from 'knex';
import type { Queryable } from './db';

export type Row = Record<string, unknown>;

interface Statement {
  raw(on: boolean): Statement;
  columns(): { name: string }[];
  all(...bindings: unknown[]): unknown[][];
}

interface SqliteConnection {
  prepare(sql: string): Statement;
}

interface Prepared {
  statement: Statement;
  row: (values: unknown[]) => Row;
}

/** Per connection (a new one after the pool replaced it prepares again): SQL text → statement and row factory. */
const prepared = new WeakMap<object, Map<string, Prepared>>();
const MAX_STATEMENTS = 500;

/** A function that makes `{ col0: v[0], col1: v[1], … }`: one hidden class for every row of the statement. */
function rowFactory(names: readonly string[]): (values: unknown[]) => Row {
  const body = `return { ${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')} };`;
  return new Function('v', body) as (values: unknown[]) => Row;
}

function prepare(conn: SqliteConnection, sql: string): Prepared {
  let cache = prepared.get(conn);
  if (!cache) prepared.set(conn, (cache = new Map()));
  let p = cache.get(sql);
  if (!p) {
    if (cache.size >= MAX_STATEMENTS) cache.clear();
    // a text of our own (knex never writes the leading comment), so array mode never reaches a knex query's statement
    const statement = conn.prepare(`/* knot */ ${sql}`).raw(true);
    p = { statement, row: rowFactory(statement.columns().map((c) => c.name)) };
    cache.set(sql, p);
  }
  return p;
}

function isSqlitePool(db: Queryable): boolean {
  const client = db.client as { config?: { client?: unknown } };
  return !db.isTransaction && client.config?.client === 'better-sqlite3';
}

/** As knex formats bindings for better-sqlite3: booleans as 0/1, dates as epoch ms. */
function binding(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.valueOf();
  return v;
}

interface TarnPool {
  destroyed?: boolean;
  free?: { resource: unknown }[];
  numUsed(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  numPendingValidations(): number;
}

interface PooledConnection {
  __knex__disposed?: unknown;
  __knexLifetimeLimit?: unknown;
}

/**
 * The pool's one connection when it lies idle — nobody holds it (no open transaction, no query of
 * knex's running), nobody waits for it, none is being created or validated — and knex's own
 * validation would pass it (not disposed; no lifetime limit configured). A read that runs on it
 * synchronously, start to end in this tick, is then exactly what an acquire and release around
 * it would be, without the pool's ~2.5 µs of promises and timers per statement (12 a list page).
 * Anything else: null, and the caller acquires as knex would (waiting for a transaction).
 */
function idleConnection(db: Queryable): SqliteConnection | null {
  const pool = (db.client as { pool?: TarnPool }).pool;
  const free = pool?.free;
  if (!pool || pool.destroyed || !Array.isArray(free) || free.length !== 1) return null;
  if (pool.numUsed() !== 0 || pool.numPendingAcquires() !== 0 || pool.numPendingCreates() !== 0 || pool.numPendingValidations() !== 0) return null;
  const conn = free[0]!.resource as (SqliteConnection & PooledConnection) | null;
  if (!conn || conn.__knex__disposed || conn.__knexLifetimeLimit !== undefined) return null;
  return conn;
}

function runOn(conn: SqliteConnection, sql: string, bindings: readonly unknown[]): Row[] {
  const p = prepare(conn, sql);
  const values = p.statement.all(...bindings.map(binding));
  const rows = new Array<Row>(values.length);
  for (let i = 0; i < values.length; i++) rows[i] = p.row(values[i]!);
  return rows;
}

/** The rows a SELECT answers, as objects keyed by column name (as a knex query's). */
export async function selectRows(db: Queryable, sql: string, bindings: readonly unknown[] = []): Promise<Row[]> {
  if (isSqlitePool(db)) {
    const idle = idleConnection(db);
    if (idle) return runOn(idle, sql, bindings);
    const conn = (await db.client.acquireConnection()) as SqliteConnection;
    try {
      return runOn(conn, sql, bindings);
    } finally {
      db.client.releaseConnection(conn);
    }
  }
  const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as unknown;
  // mysql2 answers [rows, fields]; better-sqlite3 the rows
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Row[];
}

/** The first row, or undefined (add `limit 1` to the SQL: this does not). */
export async function selectFirst(db: Queryable, sql: string, bindings: readonly unknown[] = []): Promise<Row | undefined> {
  return (await selectRows(db, sql, bindings))[0];
}

/** `?, ?, ?` for n values. */
export function placeholders(n: number): string {
  return n <= 0 ? '' : '?' + ', ?'.repeat(n - 1);
}
