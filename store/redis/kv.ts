/**
 * The key/value layer every repository is written against, and the optimistic transactions.
 *
 * A repository is a function of a `Kv`: it reads through `kv.read` and writes through
 * `kv.write(work)`. Outside a transaction `kv.read` is the main connection and `kv.write` runs
 * `work` as a transaction of its own; inside `store.transaction` both are that transaction, so a
 * repository method called with the transaction's repositories joins it. The same code serves
 * both.
 *
 * A transaction runs on a pool connection: every key it reads is WATCHed first (the WATCH is
 * pipelined with the read, one round trip); its writes are buffered, with an overlay so its own
 * later reads see them; at the end MULTI + the writes + EXEC. EXEC answering null (a watched key
 * changed since it was read) runs `work` again from scratch, so the work must do nothing but store
 * calls. A transaction without writes still ends with an (empty) EXEC, which answers whether what
 * it read was one consistent snapshot; the same check decides, when `work` throws, whether the
 * error came from a stale view (run again) or stands.
 *
 * Reads of sorted-set ranges merge the overlay (the whole range is read when the key was written).
 * The two logs (events, audit) are not read through transactions: `kv.logs` reads them from the
 * main connection, unwatched — a log entry is written once and never changed.
 */
import type Redis from 'ioredis';
import type { ConnectionPool } from './pool';
import { guarded, isConnectionFailure, storeBusy, storeInternal, toStoreError } from './errors';
import { compareBytes, inLexRange, Overlay } from './overlay';
import type { LogStore } from './logs';

/** A ZRANGEBYLEX query: bounds as Redis writes them (`-`, `+`, `[x`, `(x`), lowest first unless `reverse`. */
export interface LexRange {
  min: string;
  max: string;
  reverse?: boolean;
  offset?: number;
  count?: number;
}

export interface KvReader {
  get(key: string): Promise<string | null>;
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  hget(key: string, field: string): Promise<string | null>;
  hgetall(key: string): Promise<Map<string, string>>;
  hlen(key: string): Promise<number>;
  smembers(key: string): Promise<string[]>;
  scard(key: string): Promise<number>;
  /** members of a score-0 sorted set */
  zrangeByLex(key: string, range: LexRange): Promise<string[]>;
  zcard(key: string): Promise<number>;
}

/** One append to an id-numbered log: the id is taken at EXEC time, so ids follow commit order. */
export interface LogAppend {
  counterKey: string;
  logKey: string;
  /** stored as `<id>:<payload>` scored by the id */
  payload: string;
  /** also `ZADD timeKey <score> <id>` (audit entries by time) */
  byTime?: { key: string; score: number };
}

export interface KvWriter {
  set(key: string, value: string): void;
  del(key: string): void;
  hset(key: string, field: string, value: string): void;
  hdel(key: string, field: string): void;
  sadd(key: string, member: string): void;
  srem(key: string, member: string): void;
  /** into a score-0 sorted set */
  zadd(key: string, member: string): void;
  zrem(key: string, member: string): void;
  appendLog(entry: LogAppend): void;
  /** runs after the commit (not at all if the transaction fails); failures are ignored */
  afterCommit(hook: () => Promise<void>): void;
}

export interface KvTx extends KvReader, KvWriter {}

export interface Kv {
  readonly read: KvReader;
  write<T>(work: (tx: KvTx) => Promise<T>): Promise<T>;
  readonly logs: LogStore;
}

/** MGET in slices: one reply of thousands of documents would stall the connection for everyone. */
const MGET_SLICE = 500;

// ---------------------------------------------------------------- reads outside transactions

/** Reads straight from the main connection. */
export class DirectReader implements KvReader {
  constructor(private readonly redis: Redis) {}

  get(key: string): Promise<string | null> {
    return guarded(this.redis.get(key));
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    for (let i = 0; i < keys.length; i += MGET_SLICE) out.push(...(await guarded(this.redis.mget(keys.slice(i, i + MGET_SLICE)))));
    return out;
  }

  hget(key: string, field: string): Promise<string | null> {
    return guarded(this.redis.hget(key, field));
  }

  async hgetall(key: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await guarded(this.redis.hgetall(key))));
  }

  hlen(key: string): Promise<number> {
    return guarded(this.redis.hlen(key));
  }

  smembers(key: string): Promise<string[]> {
    return guarded(this.redis.smembers(key));
  }

  scard(key: string): Promise<number> {
    return guarded(this.redis.scard(key));
  }

  zrangeByLex(key: string, r: LexRange): Promise<string[]> {
    return guarded(lexQuery(this.redis, key, r));
  }

  zcard(key: string): Promise<number> {
    return guarded(this.redis.zcard(key));
  }
}

function lexQuery(redis: Redis, key: string, r: LexRange): Promise<string[]> {
  if (r.count === undefined) return r.reverse ? redis.zrevrangebylex(key, r.max, r.min) : redis.zrangebylex(key, r.min, r.max);
  const offset = r.offset ?? 0;
  return r.reverse ? redis.zrevrangebylex(key, r.max, r.min, 'LIMIT', offset, r.count) : redis.zrangebylex(key, r.min, r.max, 'LIMIT', offset, r.count);
}

// ---------------------------------------------------------------- transactions

/** A command buffered for EXEC. */
type Command = [name: string, ...args: (string | number)[]];

/**
 * Appends to a log atomically at EXEC: the counter gives the id, the entry is scored by it. The
 * id is formatted with %d: Lua's default number format would write large ids as 1e+14.
 */
const APPEND_LOG = `
local id = redis.call('INCR', KEYS[1])
local ids = string.format('%d', id)
redis.call('ZADD', KEYS[2], id, ids .. ':' .. ARGV[1])
if KEYS[3] then redis.call('ZADD', KEYS[3], ARGV[2], ids) end
return id`;

type Outcome = 'committed' | 'conflict';

/** One attempt of a transaction on its connection. */
class TxAttempt implements KvTx {
  private readonly overlay = new Overlay();
  private readonly commands: Command[] = [];
  private readonly hooks: (() => Promise<void>)[] = [];
  private watching = false;

  constructor(private readonly conn: Redis) {}

  /** WATCH then read, in one round trip (commands on one connection run in order). */
  private async watched<T>(keys: readonly string[], read: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return read();
    this.watching = true;
    const [, value] = await guarded(Promise.all([this.conn.watch(...keys), read()]));
    return value;
  }

  async get(key: string): Promise<string | null> {
    const known = this.overlay.string(key);
    return known !== undefined ? known : this.watched([key], () => this.conn.get(key));
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    const unknown = [...new Set(keys.filter((k) => this.overlay.string(k) === undefined))];
    const stored = new Map<string, string | null>();
    for (let i = 0; i < unknown.length; i += MGET_SLICE) {
      const slice = unknown.slice(i, i + MGET_SLICE);
      const values = await this.watched(slice, () => this.conn.mget(slice));
      slice.forEach((k, j) => stored.set(k, values[j] ?? null));
    }
    return keys.map((k) => {
      const known = this.overlay.string(k);
      return known !== undefined ? known : (stored.get(k) ?? null);
    });
  }

  async hget(key: string, field: string): Promise<string | null> {
    const known = this.overlay.field(key, field);
    return known !== undefined ? known : this.watched([key], () => this.conn.hget(key, field));
  }

  async hgetall(key: string): Promise<Map<string, string>> {
    const stored = this.overlay.needsStored(key) ? new Map(Object.entries(await this.watched([key], () => this.conn.hgetall(key)))) : new Map<string, string>();
    return this.overlay.hash(key, stored);
  }

  async hlen(key: string): Promise<number> {
    if (!this.overlay.touched(key)) return this.watched([key], () => this.conn.hlen(key));
    return (await this.hgetall(key)).size;
  }

  async smembers(key: string): Promise<string[]> {
    const stored = this.overlay.needsStored(key) ? await this.watched([key], () => this.conn.smembers(key)) : [];
    return this.overlay.members(key, stored);
  }

  async scard(key: string): Promise<number> {
    if (!this.overlay.touched(key)) return this.watched([key], () => this.conn.scard(key));
    return (await this.smembers(key)).length;
  }

  async zrangeByLex(key: string, r: LexRange): Promise<string[]> {
    if (!this.overlay.touched(key)) return this.watched([key], () => lexQuery(this.conn, key, r));
    // the key changed in this transaction: read the whole range, merge, then page
    const stored = this.overlay.needsStored(key) ? await this.watched([key], () => lexQuery(this.conn, key, { min: r.min, max: r.max })) : [];
    const merged = this.overlay
      .members(key, stored)
      .filter((m) => inLexRange(m, r.min, r.max))
      .sort(compareBytes);
    if (r.reverse) merged.reverse();
    const from = r.offset ?? 0;
    return r.count === undefined ? merged.slice(from) : merged.slice(from, from + r.count);
  }

  async zcard(key: string): Promise<number> {
    if (!this.overlay.touched(key)) return this.watched([key], () => this.conn.zcard(key));
    return (await this.zrangeByLex(key, { min: '-', max: '+' })).length;
  }

  set(key: string, value: string): void {
    this.overlay.set(key, value);
    this.commands.push(['SET', key, value]);
  }

  del(key: string): void {
    this.overlay.del(key);
    this.commands.push(['UNLINK', key]);
  }

  hset(key: string, field: string, value: string): void {
    this.overlay.hset(key, field, value);
    this.commands.push(['HSET', key, field, value]);
  }

  hdel(key: string, field: string): void {
    this.overlay.hset(key, field, null);
    this.commands.push(['HDEL', key, field]);
  }

  sadd(key: string, member: string): void {
    this.overlay.member(key, member, true);
    this.commands.push(['SADD', key, member]);
  }

  srem(key: string, member: string): void {
    this.overlay.member(key, member, false);
    this.commands.push(['SREM', key, member]);
  }

  zadd(key: string, member: string): void {
    this.overlay.member(key, member, true);
    this.commands.push(['ZADD', key, 0, member]);
  }

  zrem(key: string, member: string): void {
    this.overlay.member(key, member, false);
    this.commands.push(['ZREM', key, member]);
  }

  appendLog(e: LogAppend): void {
    const keys = e.byTime ? [e.counterKey, e.logKey, e.byTime.key] : [e.counterKey, e.logKey];
    const args = e.byTime ? [e.payload, e.byTime.score] : [e.payload];
    this.commands.push(['EVAL', APPEND_LOG, keys.length, ...keys, ...args]);
  }

  afterCommit(hook: () => Promise<void>): void {
    this.hooks.push(hook);
  }

  /** MULTI + the buffered writes + EXEC; an empty EXEC still tells whether the reads held. */
  async commit(): Promise<Outcome> {
    if (!this.watching && this.commands.length === 0) return 'committed';
    const multi = this.conn.multi();
    for (const [name, ...args] of this.commands) multi.call(name, ...args);
    const replies = await guarded(multi.exec());
    if (replies === null) return 'conflict';
    const failed = replies.find(([err]) => err);
    // EXEC does not roll back: a command that failed inside it (a key of another type under our
    // prefix, Redis out of memory) leaves the others applied
    if (failed) throw storeInternal('a write inside a transaction failed; the transaction may be partly applied', failed[0]);
    return 'committed';
  }

  /**
   * After `work` threw: drops the buffered writes and answers whether what it read was still
   * current (then its error stands). An empty EXEC both answers that and ends the WATCH.
   */
  async readsHeld(): Promise<boolean> {
    if (!this.watching) return true;
    return (await guarded(this.conn.multi().exec())) !== null;
  }

  async runHooks(): Promise<void> {
    for (const hook of this.hooks) await hook().catch(() => undefined);
  }
}

/** Attempts before a transaction that keeps losing its race gives up. */
const MAX_ATTEMPTS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A little jittered, growing pause, so racing transactions do not collide again in lockstep. */
function backoff(attempt: number): Promise<void> {
  return sleep(Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
}

export class TxRunner {
  constructor(private readonly pool: ConnectionPool) {}

  async run<T>(work: (tx: KvTx) => Promise<T>): Promise<T> {
    const conn = await this.pool.acquire();
    let healthy = true;
    let committed: TxAttempt | null = null;
    try {
      for (let attempt = 1; ; attempt++) {
        const tx = new TxAttempt(conn);
        let value: T;
        try {
          value = await work(tx);
        } catch (e) {
          if (isConnectionFailure(e)) throw e;
          // the work saw a view that changed under it: its error may be an artefact of that, so
          // run it again (and give up with its own error rather than "busy")
          if ((await tx.readsHeld()) || attempt >= MAX_ATTEMPTS) throw e;
          await backoff(attempt);
          continue;
        }
        if ((await tx.commit()) === 'committed') {
          committed = tx;
          return value;
        }
        if (attempt >= MAX_ATTEMPTS) throw storeBusy();
        await backoff(attempt);
      }
    } catch (e) {
      if (isConnectionFailure(e)) healthy = false;
      throw toStoreError(e);
    } finally {
      this.pool.release(conn, healthy);
      // after the release: a hook may need a pool connection of its own
      if (committed) await committed.runHooks();
    }
  }
}

/** The Kv outside any transaction: reads from the main connection, each write its own transaction. */
export function rootKv(redis: Redis, runner: TxRunner, logs: LogStore): Kv {
  return { read: new DirectReader(redis), write: (work) => runner.run(work), logs };
}

/** The Kv inside a transaction: everything joins it. */
export function joinedKv(tx: KvTx, logs: LogStore): Kv {
  return { read: tx, write: (work) => work(tx), logs };
}

// ---------------------------------------------------------------- JSON documents

export function parseJson<T>(text: string | null, key: string): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw storeInternal(`the record at ${key} is not JSON`, e);
  }
}

export async function readDoc<T>(r: KvReader, key: string): Promise<T | null> {
  return parseJson<T>(await r.get(key), key);
}

/** Documents in the order of the keys; null where missing. */
export async function readDocs<T>(r: KvReader, keys: readonly string[]): Promise<(T | null)[]> {
  if (keys.length === 0) return [];
  const texts = await r.mget(keys);
  return texts.map((t, i) => parseJson<T>(t ?? null, keys[i] ?? ''));
}

export function writeDoc(tx: KvWriter, key: string, doc: unknown): void {
  tx.set(key, JSON.stringify(doc));
}
