/**
 * Where agent link records live: in Redis when `server.redis.enabled` (a key per space, its record
 * expiring with the agent TTL) — beside a MySQL or SQLite store, or as part of the Redis store — else in the SQL
 * store's `agent_state` table. The TTL is `server.redis.agent_ttl` either way, so "connected"
 * means the same thing.
 */
import type Redis from 'ioredis';
import { parseDurationMs, type KnotConfig } from '../core/config';
import type { Clock } from './clock';
import { systemClock } from './clock';
import { RedisAgentStateStore } from './redis/agent-state';
import type { AgentStateStore, Store } from './store';

export function agentTtlMs(config: KnotConfig): number {
  return parseDurationMs(config.server.redis.agent_ttl);
}

/** `redis` is the connection `server.redis.*` opened (cli/services.ts); without it the store keeps agent state itself. */
export function createAgentStateStore(config: KnotConfig, store: Store, redis: Redis | null = null, clock: Clock = systemClock): AgentStateStore {
  const ttl = agentTtlMs(config);
  if (config.server.redis.enabled && redis && store.kind !== 'redis') return new RedisAgentStateStore(redis, ttl, { prefix: config.server.redis.prefix, clock });
  return store.agentState(ttl, clock);
}
