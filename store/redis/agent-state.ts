/**
 * What each space's agent last reported, in Redis: a key per space, `<prefix>agent:<spaceId>`,
 * that expires with the agent TTL, so a present key means a connected agent. With the default
 * prefix the keys are `knot:agent:<id>`, as before the store had a Redis driver.
 */
import type Redis from 'ioredis';
import { chunks } from '../../core/batches';
import type { AgentReport, AgentServices, AgentState } from '../model';
import type { AgentStateStore } from '../store';
import { guarded } from './errors';
import { Keys } from './keys';

/** Stored shape; `lastActivity` keeps the newest value even if a report leaves it out. */
interface StoredState {
  services: AgentServices;
  lastSeen: number;
  lastActivity: number | null;
}

function parse(text: string | null | undefined): StoredState | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as StoredState;
  } catch {
    // an unreadable report is as good as none: the agent's next report replaces it
    return null;
  }
}

export interface RedisAgentStateOptions {
  /** key prefix, default `knot:` */
  prefix?: string;
  /** quit the connection on close() (true when the caller opened it for this store alone) */
  ownsConnection?: boolean;
}

export class RedisAgentStateStore implements AgentStateStore {
  private readonly keys: Keys;
  private readonly ownsConnection: boolean;

  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    opts: RedisAgentStateOptions = {},
  ) {
    this.keys = new Keys(opts.prefix ?? 'knot:');
    this.ownsConnection = opts.ownsConnection ?? false;
  }

  async report(spaceId: string, state: AgentReport, now: number): Promise<void> {
    const key = this.keys.agent(spaceId);
    let lastActivity = state.lastActivity ?? null;
    if (lastActivity === null) lastActivity = parse(await guarded(this.redis.get(key)))?.lastActivity ?? null;
    const stored: StoredState = { services: state.services, lastSeen: now, lastActivity };
    await guarded(this.redis.set(key, JSON.stringify(stored), 'PX', this.ttlMs));
  }

  /** A key exists only while the agent is within its TTL: present means connected. */
  private stateOf(text: string | null | undefined): AgentState | null {
    const s = parse(text);
    return s ? { connected: true, lastSeen: s.lastSeen, lastActivity: s.lastActivity ?? null, services: s.services ?? {} } : null;
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
