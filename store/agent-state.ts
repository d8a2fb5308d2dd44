/**
 * What each space's agent last reported: its services and when someone last used the space. In
 * Redis when configured (a key per space that expires with the agent TTL), else in the SQL table
 * `agent_state` (the row stays; `connected` is whether it has expired).
 */
import Redis from 'ioredis';
import { parseDurationMs, splitHostPort, type KnotConfig } from '../core/config';
import type { Clock } from './clock';
import { systemClock } from './clock';
import type { Db } from './db';
import { toJson } from './db';

export interface AgentServices {
  ssh?: boolean;
  codeServer?: boolean;
  terminal?: boolean;
  ports?: number[];
}

export interface AgentReport {
  services: AgentServices;
  /** ms since the epoch of the last user activity the agent saw */
  lastActivity?: number;
}

export interface AgentState {
  connected: boolean;
  lastSeen: number;
  lastActivity: number | null;
  services: AgentServices;
}

export interface AgentStateStore {
  report(spaceId: string, state: AgentReport, now: number): Promise<void>;
  get(spaceId: string): Promise<AgentState | null>;
  /** Only the spaces with a state are in the map. */
  getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>>;
  /** Drops the state of spaces that no longer exist (cleanup sweep). */
  forget(spaceIds: readonly string[]): Promise<void>;
  /** Releases a connection the store opened itself (never one it was given). */
  close(): Promise<void>;
}

/** Stored shape; `lastActivity` keeps the newest value even if a report leaves it out. */
interface StoredState {
  services: AgentServices;
  lastSeen: number;
  lastActivity: number | null;
}

const SQL_CHUNK = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class SqlAgentStateStore implements AgentStateStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  async report(spaceId: string, state: AgentReport, now: number): Promise<void> {
    const previous = await this.db('agent_state').where({ space_id: spaceId }).first('state_json');
    const before = previous ? toJson<StoredState | null>(previous.state_json, null) : null;
    const stored: StoredState = { services: state.services, lastSeen: now, lastActivity: state.lastActivity ?? before?.lastActivity ?? null };
    const row = { state_json: JSON.stringify(stored), last_seen: now, expires_at: now + this.ttlMs };
    // insert-or-update without dialect-specific upserts; a concurrent first report loses the race
    // to the primary key and then updates
    const updated = await this.db('agent_state').where({ space_id: spaceId }).update(row);
    if (updated > 0) return;
    try {
      await this.db('agent_state').insert({ space_id: spaceId, ...row });
    } catch {
      await this.db('agent_state').where({ space_id: spaceId }).update(row);
    }
  }

  private fromRow(r: Record<string, unknown>): AgentState {
    const s = toJson<StoredState>(r.state_json, { services: {}, lastSeen: Number(r.last_seen), lastActivity: null });
    return { connected: Number(r.expires_at) > this.clock(), lastSeen: Number(r.last_seen), lastActivity: s.lastActivity ?? null, services: s.services ?? {} };
  }

  async get(spaceId: string): Promise<AgentState | null> {
    const r = await this.db('agent_state').where({ space_id: spaceId }).first();
    return r ? this.fromRow(r) : null;
  }

  async getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>> {
    const out = new Map<string, AgentState>();
    for (const ids of chunks([...new Set(spaceIds)], SQL_CHUNK)) {
      const rows = await this.db('agent_state').whereIn('space_id', ids);
      for (const r of rows) out.set(r.space_id as string, this.fromRow(r));
    }
    return out;
  }

  async forget(spaceIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(spaceIds)], SQL_CHUNK)) await this.db('agent_state').whereIn('space_id', ids).delete();
  }

  async close(): Promise<void> {}
}

export const AGENT_KEY_PREFIX = 'knot:agent:';

export class RedisAgentStateStore implements AgentStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    private readonly ownsConnection = false,
  ) {}

  private key(spaceId: string): string {
    return AGENT_KEY_PREFIX + spaceId;
  }

  async report(spaceId: string, state: AgentReport, now: number): Promise<void> {
    let lastActivity = state.lastActivity ?? null;
    if (lastActivity === null) {
      const before = await this.redis.get(this.key(spaceId));
      lastActivity = before ? (toJson<StoredState | null>(before, null)?.lastActivity ?? null) : null;
    }
    const stored: StoredState = { services: state.services, lastSeen: now, lastActivity };
    await this.redis.set(this.key(spaceId), JSON.stringify(stored), 'PX', this.ttlMs);
  }

  /** A key exists only while the agent is within its TTL: present means connected. */
  private parse(text: string | null): AgentState | null {
    const s = text ? toJson<StoredState | null>(text, null) : null;
    return s ? { connected: true, lastSeen: s.lastSeen, lastActivity: s.lastActivity ?? null, services: s.services ?? {} } : null;
  }

  async get(spaceId: string): Promise<AgentState | null> {
    return this.parse(await this.redis.get(this.key(spaceId)));
  }

  async getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>> {
    const out = new Map<string, AgentState>();
    for (const ids of chunks([...new Set(spaceIds)], SQL_CHUNK)) {
      const values = await this.redis.mget(ids.map((id) => this.key(id)));
      ids.forEach((id, i) => {
        const state = this.parse(values[i] ?? null);
        if (state) out.set(id, state);
      });
    }
    return out;
  }

  async forget(spaceIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(spaceIds)], SQL_CHUNK)) {
      if (ids.length > 0) await this.redis.del(...ids.map((id) => this.key(id)));
    }
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }
}

export function agentTtlMs(config: KnotConfig): number {
  return parseDurationMs(config.server.redis.agent_ttl);
}

/** A Redis connection from `server.redis.*` (lazy: the first command connects). */
export function redisFromConfig(config: KnotConfig): Redis {
  const r = config.server.redis;
  const target = splitHostPort(r.host, 6379);
  return new Redis({ host: target.host, port: target.port, password: r.password || undefined, db: r.db, lazyConnect: true, maxRetriesPerRequest: 2 });
}

/**
 * Redis when `server.redis.enabled` (the given connection, or one opened from the config that
 * `close()` quits), else the SQL table. The TTL is
 * `server.redis.agent_ttl` for both, so "connected" means the same thing.
 */
export function createAgentStateStore(config: KnotConfig, db: Db, redis?: Redis | null, clock: Clock = systemClock): AgentStateStore {
  const ttl = agentTtlMs(config);
  if (config.server.redis.enabled) return redis ? new RedisAgentStateStore(redis, ttl) : new RedisAgentStateStore(redisFromConfig(config), ttl, true);
  return new SqlAgentStateStore(db, ttl, clock);
}
