/**
 * The two append-only logs (events, audit): a sorted set scored by id whose members are
 * `<id>:<JSON>`. Appends go through transactions (`KvWriter.appendLog`, the id taken at EXEC);
 * everything here reads from the main connection, unwatched, or prunes on a pool connection —
 * an entry never changes once written, so nothing needs a snapshot.
 */
import type Redis from 'ioredis';
import { guarded, storeInternal } from './errors';
import type { ConnectionPool } from './pool';

export interface LogEntry {
  id: number;
  /** the JSON after `<id>:` */
  payload: string;
}

export interface LogRange {
  /** ZRANGEBYSCORE bounds: `-inf`, `+inf`, `n`, `(n` */
  min: string;
  max: string;
  /** newest first */
  reverse?: boolean;
  count: number;
}

function parseEntry(member: string): LogEntry {
  const colon = member.indexOf(':');
  const id = Number(member.slice(0, colon));
  if (colon < 0 || !Number.isSafeInteger(id)) throw storeInternal(`a log entry does not start with its id: ${member.slice(0, 40)}`);
  return { id, payload: member.slice(colon + 1) };
}

export class LogStore {
  constructor(
    private readonly redis: Redis,
    private readonly pool: ConnectionPool,
  ) {}

  async range(key: string, r: LogRange): Promise<LogEntry[]> {
    if (r.count <= 0) return [];
    const members = r.reverse
      ? await guarded(this.redis.zrevrangebyscore(key, r.max, r.min, 'LIMIT', 0, r.count))
      : await guarded(this.redis.zrangebyscore(key, r.min, r.max, 'LIMIT', 0, r.count));
    return members.map(parseEntry);
  }

  /** the oldest and newest ids */
  async bounds(key: string): Promise<{ oldestId: number | null; newestId: number | null }> {
    const [oldest, newest] = await Promise.all([guarded(this.redis.zrange(key, 0, 0)), guarded(this.redis.zrange(key, -1, -1))]);
    return { oldestId: oldest[0] === undefined ? null : parseEntry(oldest[0]).id, newestId: newest[0] === undefined ? null : parseEntry(newest[0]).id };
  }

  /** Drops every entry with an id ≤ `lastId`; how many. */
  async dropThrough(key: string, lastId: number): Promise<number> {
    return this.pool.use((conn) => conn.zremrangebyscore(key, '-inf', lastId));
  }

  /** up to `count` ids whose time score (in `timeKey`) is below `before`, oldest first */
  async idsBefore(timeKey: string, before: number, count: number): Promise<number[]> {
    const ids = await guarded(this.redis.zrangebyscore(timeKey, '-inf', `(${before}`, 'LIMIT', 0, count));
    return ids.map(Number);
  }

  /** Removes these entries from the log and its time index; how many the log still held. */
  async remove(logKey: string, timeKey: string, ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const replies = await this.pool.use((conn) => {
      const multi = conn.multi();
      multi.zrem(timeKey, ...ids.map(String));
      for (const id of ids) multi.zremrangebyscore(logKey, id, id);
      return multi.exec();
    });
    if (!replies) return 0;
    // a concurrent prune may have taken some: count only what this one removed
    return replies.slice(1).reduce((n, [, removed]) => n + Number(removed ?? 0), 0);
  }
}
