/**
 * Opens what the server and the worker need from configuration: Redis (when configured), the store
 * (migrated; store/open.ts picks the driver), and the health checks over them. The rest of the
 * backend (Nomad, settings, the LifecycleClient, the activities' dependencies) is built by
 * worker/backend.ts, so `knot server`, `knot worker`, `knot dev`, the tests and the benchmarks agree.
 */
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import type { KnotConfig } from '../core/config';
import { connectRedis, openStore } from '../store/open';
import type { Store } from '../store/store';

/** The Redis connection `server.redis.*` describes, or null when Redis is not enabled. */
export async function openRedis(cfg: KnotConfig): Promise<Redis | null> {
  return cfg.server.redis.enabled ? connectRedis(cfg) : null;
}

/** Redis (agent state, or the whole store) and the store, opened in that order; the store reuses the connection. */
export async function openStoreAndRedis(cfg: KnotConfig, logger: Logger): Promise<{ store: Store; redis: Redis | null }> {
  const redis = await openRedis(cfg);
  try {
    return { store: await openStore(cfg, logger, redis), redis };
  } catch (e) {
    await redis?.quit().catch(() => undefined);
    throw e;
  }
}

export function healthChecks(store: Store, temporalUp: () => Promise<boolean>, redis: Redis | null): Record<string, () => Promise<boolean>> {
  const checks: Record<string, () => Promise<boolean>> = {
    store: () => store.ping(),
    temporal: temporalUp,
  };
  // beside a SQL store, Redis keeps agent state and is checked on its own
  if (redis && store.kind !== 'redis') checks.redis = async () => (await redis.ping()) === 'PONG';
  return checks;
}
