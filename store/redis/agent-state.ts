/**
 * Agent link records in Redis: a key per space, `<prefix>agent:<spaceId>`, holding the record with
 * its own expiry time. The key itself lives at least a day past the last write, so a link whose
 * holder stopped refreshing it reads as disconnected since its expiry instead of vanishing (and
 * `since`, `lastActivity` survive a stop). With the default prefix the keys are `knot:agent:<id>`,
 * as before the store had a Redis driver.
 */
import type Redis from 'ioredis';
import { chunks } from '../../core/batches';
import { disconnectedRecord, linkAt, parseLinkRecord, reportedRecord, type StoredLinkRecord } from '../agent-link-record';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { AgentReport, AgentState } from '../model';
import type { AgentStateStore } from '../store';
import { guarded } from './errors';
import { Keys } from './keys';

/** How long a record outlives its last write (a stopped space's `since` for a day at least). */
export const AGENT_RECORD_RETENTION_MS = 24 * 60 * 60_000;

export interface RedisAgentStateOptions {
  /** key prefix, default `knot:` */
  prefix?: string;
  /** quit the connection on close() (true when the caller opened it for this store alone) */
  ownsConnection?: boolean;
  /** what "now" is when reading whether a record has expired */
  clock?: Clock;
}

export class RedisAgentStateStore implements AgentStateStore {
  private readonly keys: Keys;
  private readonly ownsConnection: boolean;
  private readonly clock: Clock;

  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    opts: RedisAgentStateOptions = {},
  ) {
    this.keys = new Keys(opts.prefix ?? 'knot:');
    this.ownsConnection = opts.ownsConnection ?? false;
    this.clock = opts.clock ?? systemClock;
  }

  private async stored(spaceId: string): Promise<StoredLinkRecord | null> {
    return parseLinkRecord(await guarded(this.redis.get(this.keys.agent(spaceId))), this.ttlMs);
  }

  private async write(spaceId: string, record: StoredLinkRecord): Promise<void> {
    await guarded(this.redis.set(this.keys.agent(spaceId), JSON.stringify(record), 'PX', Math.max(this.ttlMs, 0) + AGENT_RECORD_RETENTION_MS));
  }

  async report(spaceId: string, state: AgentReport, now: number): Promise<void> {
    await this.write(spaceId, reportedRecord(await this.stored(spaceId), state, now, this.ttlMs));
  }

  async disconnected(spaceId: string, now: number, holder?: string): Promise<void> {
    const before = await this.stored(spaceId);
    const after = before ? disconnectedRecord(before, now, holder) : null;
    if (after) await this.write(spaceId, after);
  }

  private stateOf(text: string | null | undefined): AgentState | null {
    const stored = parseLinkRecord(text, this.ttlMs);
    return stored ? linkAt(stored, this.clock()) : null;
  }

  async get(spaceId: string): Promise<AgentState | null> {
    return this.stateOf(await guarded(this.redis.get(this.keys.agent(spaceId))));
  }

  async getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>> {
    const out = new Map<string, AgentState>();
    for (const ids of chunks([...new Set(spaceIds)])) {
      const values = await guarded(this.redis.mget(ids.map((id) => this.keys.agent(id))));
      ids.forEach((id, i) => {
        const state = this.stateOf(values[i]);
        if (state) out.set(id, state);
      });
    }
    return out;
  }

  async forget(spaceIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(spaceIds)])) {
      if (ids.length > 0) await guarded(this.redis.del(...ids.map((id) => this.keys.agent(id))));
    }
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }
}
