/**
 * Dedicated connections for transactions. WATCH belongs to a connection, so two transactions can
 * never share one; a small pool of duplicates of the main connection, opened on demand, serves
 * them, and callers beyond its size wait their turn.
 *
 * The duplicates never replay anything: `autoResendUnfulfilledCommands: false` (a resent EXEC
 * would apply a transaction twice), no offline queue (a command on a broken connection fails at
 * once instead of waiting), no reconnecting (`retryStrategy: null`). A connection that broke is
 * dropped and the next caller opens a fresh one, so the store recovers by itself once Redis is
 * back.
 */
import type Redis from 'ioredis';
import { isConnectionFailure, storeUnavailable, toStoreError } from './errors';

/** How long a caller waits for a free connection before answering `unavailable`. */
const ACQUIRE_TIMEOUT_MS = 30_000;
/** A command on a pool connection that takes longer than this means Redis is stuck. */
const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;

export class ConnectionPool {
  private readonly idle: Redis[] = [];
  /** connections opened (or opening) and not dropped */
  private open = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly main: Redis,
    private readonly size: number,
    private readonly acquireTimeoutMs = ACQUIRE_TIMEOUT_MS,
  ) {}

  async acquire(): Promise<Redis> {
    const deadline = Date.now() + this.acquireTimeoutMs;
    for (;;) {
      if (this.closed) throw storeUnavailable(new Error('the store is closed'));
      const conn = this.idle.pop();
      if (conn) {
        if (conn.status === 'ready') return conn;
        this.drop(conn);
        continue;
      }
      if (this.open < this.size) return this.connect();
      await this.turn(deadline);
    }
  }

  /** Back to the pool, or dropped when it broke (its WATCH state and replies are unknown). */
  release(conn: Redis, healthy: boolean): void {
    if (!healthy || this.closed || conn.status !== 'ready') {
      this.drop(conn);
      return;
    }
    this.idle.push(conn);
    this.waiting.shift()?.();
  }

  /** Runs `fn` on a connection of the pool (writes that must never be resent). */
  async use<T>(fn: (conn: Redis) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    let healthy = true;
    try {
      return await fn(conn);
    } catch (e) {
      if (isConnectionFailure(e)) healthy = false;
      throw toStoreError(e);
    } finally {
      this.release(conn, healthy);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake();
    const conns = this.idle.splice(0);
    this.open -= conns.length;
    await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private async connect(): Promise<Redis> {
    this.open++;
    const conn = this.main.duplicate({
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      retryStrategy: () => null,
      reconnectOnError: null,
      commandTimeout: this.main.options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
    });
    // failures reach the caller through the rejected commands; without a listener ioredis would
    // print every one of them
    conn.on('error', () => undefined);
    try {
      await conn.connect();
      return conn;
    } catch (e) {
      this.drop(conn);
      throw storeUnavailable(e);
    }
  }

  private drop(conn: Redis): void {
    this.open--;
    conn.disconnect();
    this.waiting.shift()?.();
  }

  /** Waits until a connection is released or dropped (then the caller looks again). */
  private turn(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(storeUnavailable(new Error(`no Redis connection free for a transaction within ${this.acquireTimeoutMs} ms`)));
      }, Math.max(0, deadline - Date.now()));
      this.waiting.push(wake);
    });
  }
}
