/**
 * Opens what the server and the worker need from configuration: the store (migrated), Redis, and
 * the health checks over them. The rest of the backend (Nomad, settings, the LifecycleClient, the
 * activities' dependencies) is built by worker/backend.ts, so `knot server`, `knot worker`,
 * `knot dev`, the tests and the benchmarks agree.
 */
import { resolveSrv } from 'node:dns/promises';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { KnotConfig } from '../core/config';
import { splitHostPort } from '../core/config';
import { resolveHost } from '../core/srv';
import { createDb, dbReachable, dbTargetFromConfig, migrateLatest, type Db } from '../store/db';

export async function openStore(cfg: KnotConfig, logger: Logger): Promise<Db> {
  const m = cfg.server.mysql;
  const host = m.enabled ? await resolveHost(m.host, m.port, resolveSrv) : undefined;
  const target = dbTargetFromConfig(cfg, host);
  const db = createDb(target);
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied, store: target.client }, 'store migrated');
  return db;
}

export async function openRedis(cfg: KnotConfig): Promise<Redis | null> {
  const r = cfg.server.redis;
  if (!r.enabled) return null;
  const { host, port } = splitHostPort(r.host, 6379);
  const target = await resolveHost(host, port, resolveSrv);
  const redis = new Redis({ host: target.host, port: target.port, password: r.password || undefined, db: r.db, lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  return redis;
}

export function healthChecks(db: Db, temporalUp: () => Promise<boolean>, redis: Redis | null): Record<string, () => Promise<boolean>> {
  const checks: Record<string, () => Promise<boolean>> = {
    store: () => dbReachable(db),
    temporal: temporalUp,
  };
  if (redis) checks.redis = async () => (await redis.ping()) === 'PONG';
  return checks;
}
