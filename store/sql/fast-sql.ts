/**
 * The hot path's SQL without knex's query builder and runner where that is safe: on SQLite a
 * prepared statement of the right connection runs directly — reads in array mode, their rows built
 * by a per-statement factory with a fixed shape; writes (`run`) answer what knex's insert, update
 * and delete would. Measured on a 10,000-space store (bench/RESULTS.md §15): knex spent ~30 µs of
 * CPU per query around a 5–8 µs statement, and better-sqlite3's own row objects cost more than
 * twice its arrays (a 51-row page: 243 vs 104 µs).
 *
 * Which connection: on the pool (max 1 on SQLite), the one connection is taken from knex's pool and
 * given back in the same tick (or, when it lies idle in the pool, used there for one synchronous
 * statement), so a statement never runs inside someone else's open transaction: it waits for the
 * pool as a knex query would. Inside a knex transaction, the transaction's own connection: its
 * client (knex lib/execution/transaction.js `makeTxClient`) answers `acquireConnection` with that
 * connection and holds it until COMMIT/ROLLBACK marks the transaction completed, so a completed
 * transaction is refused as knex refuses it. On MySQL/MariaDB the same SQL runs through knex
 * (`raw`), on the pool or the transaction. The SQL must therefore be portable: `?` placeholders,
 * backquoted identifiers, and never undefined bindings (knex would turn them into NULL or DEFAULT).
 */
import type { Knex } from 'knex';
import type { Queryable } from './db';

export type Row = Record<string, unknown>;

/** What an INSERT, UPDATE or DELETE did: rows changed, the rowid (AUTO_INCREMENT id) it inserted. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

interface Statement {
  readonly reader: boolean;
  raw(on: boolean): Statement;
  columns(): { name: string }[];
  all(...bindings: unknown[]): unknown[][];
  run(...bindings: unknown[]): RunResult;
}

interface SqliteConnection {
  prepare(sql: string): Statement;
}

interface Prepared {
  statement: Statement;
  /** null for a statement that returns no data (a write) */
  row: ((values: unknown[]) => Row) | null;
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
    const statement = conn.prepare(`/* knot */ ${sql}`);
    // array mode exists only for statements that return data
    p = statement.reader ? { statement: statement.raw(true), row: rowFactory(statement.columns().map((c) => c.name)) } : { statement, row: null };
    cache.set(sql, p);
  }
  return p;
}

function isBetterSqlite(db: Queryable): boolean {
  const client = db.client as { config?: { client?: unknown }; transacting?: unknown };
  // a transaction's client is knex's makeTxClient (`transacting`): anything else runs through knex
  return client.config?.client === 'better-sqlite3' && (!db.isTransaction || client.transacting === true);
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
 * validation would pass it (not disposed; no lifetime limit configured). A statement that runs on
 * it synchronously, start to end in this tick, is then exactly what an acquire and release around
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

/** `use` run synchronously on the connection `db`'s statements belong on (SQLite only). */
async function onConnection<T>(db: Queryable, use: (conn: SqliteConnection) => T): Promise<T> {
  if (db.isTransaction) {
    const trx = db as Knex.Transaction;
    const conn = (await trx.client.acquireConnection()) as SqliteConnection;
    // past COMMIT/ROLLBACK the connection is the pool's again, perhaps another transaction's: knex's own error
    if (trx.isCompleted()) throw new Error('Transaction query already complete, run with DEBUG=knex:tx for more info');
    // nothing to release: the transaction keeps its connection until it completes
    return use(conn);
  }
  const idle = idleConnection(db);
  if (idle) return use(idle);
  const conn = (await db.client.acquireConnection()) as SqliteConnection;
  try {
    return use(conn);
  } finally {
    db.client.releaseConnection(conn);
  }
}

function selectOn(conn: SqliteConnection, sql: string, bindings: readonly unknown[]): Row[] {
  const p = prepare(conn, sql);
  if (!p.row) throw new Error(`not a statement that returns rows: ${sql}`);
  const values = p.statement.all(...bindings.map(binding));
  const rows = new Array<Row>(values.length);
  for (let i = 0; i < values.length; i++) rows[i] = p.row(values[i]!);
  return rows;
}

function runOn(conn: SqliteConnection, sql: string, bindings: readonly unknown[]): RunResult {
  const { changes, lastInsertRowid } = prepare(conn, sql).statement.run(...bindings.map(binding));
  return { changes, lastInsertRowid };
}

/** The rows a SELECT answers, as objects keyed by column name (as a knex query's). */
export async function selectRows(db: Queryable, sql: string, bindings: readonly unknown[] = []): Promise<Row[]> {
  if (isBetterSqlite(db)) return onConnection(db, (conn) => selectOn(conn, sql, bindings));
  const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as unknown;
  // mysql2 answers [rows, fields]; better-sqlite3 the rows
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Row[];
}

/** The first row, or undefined (add `limit 1` to the SQL: this does not). */
export async function selectFirst(db: Queryable, sql: string, bindings: readonly unknown[] = []): Promise<Row | undefined> {
  return (await selectRows(db, sql, bindings))[0];
}

/**
 * An INSERT, UPDATE or DELETE: `changes` is what knex's update and delete answer, `lastInsertRowid`
 * the id its insert answers (`[id]`).
 */
export async function run(db: Queryable, sql: string, bindings: readonly unknown[] = []): Promise<RunResult> {
  if (isBetterSqlite(db)) return onConnection(db, (conn) => runOn(conn, sql, bindings));
  const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as unknown;
  // mysql2 answers [ResultSetHeader, undefined]; knex's builder reads affectedRows and insertId from it
  const header = (Array.isArray(result) ? result[0] : result) as { affectedRows: number; insertId: number };
  return { changes: header.affectedRows, lastInsertRowid: header.insertId };
}

/** `?, ?, ?` for n values. */
export function placeholders(n: number): string {
  return n <= 0 ? '' : '?' + ', ?'.repeat(n - 1);
}

/**
 * Runs `work` in one transaction made of prepared statements only, without a knex transaction: on
 * SQLite, BEGIN and COMMIT (or ROLLBACK) on the pool's one connection, held from before BEGIN to
 * after the end as knex holds it, with `work` given a handle that fast-sql's functions run on and
 * nothing else accepts (the query builder and `raw` throw). Knex builds a whole knex instance for
 * every transaction (≈ 27 KB, a tenth of the worker's allocations in the throughput bench); the
 * step records, two small transactions per lifecycle step, need none of it. On MySQL, or inside a
 * transaction already, it is a knex transaction (a savepoint there) as before.
 */
export async function statementTransaction<T>(db: Queryable, work: (tx: Queryable) => Promise<T>): Promise<T> {
  if (!isBetterSqlite(db) || db.isTransaction) return db.transaction((trx) => work(trx));
  const client = db.client as Knex.Client & { config?: { client?: unknown } };
  const conn = (await client.acquireConnection()) as SqliteConnection & { exec(sql: string): void };
  let completed = false;
  const refuse = (): never => {
    throw new Error('a statement-only transaction (store/sql/fast-sql.ts statementTransaction) runs fast-sql statements only, not the query builder');
  };
  const tx = Object.assign(refuse, {
    isTransaction: true,
    raw: refuse,
    transaction: refuse,
    isCompleted: () => completed,
    // what onConnection and isBetterSqlite ask of a transaction's client
    client: { config: client.config, transacting: true, acquireConnection: async () => conn },
  }) as unknown as Queryable;
  let open = false;
  try {
    conn.exec('BEGIN');
    open = true;
    const result = await work(tx);
    conn.exec('COMMIT');
    open = false;
    return result;
  } catch (e) {
    // a failed COMMIT leaves the transaction open too; a ROLLBACK that fails found SQLite had rolled back already
    if (open) {
      try {
        conn.exec('ROLLBACK');
      } catch {
        // nothing is open
      }
    }
    throw e;
  } finally {
    completed = true;
    client.releaseConnection(conn);
  }
}
