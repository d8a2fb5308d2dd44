/**
 * Opens what the server and the worker need from configuration: the store (migrated), Redis,
 * Nomad, Temporal. One place, so `knot server`, `knot worker` and `knot dev` agree.
 */
import { resolveSrv } from 'node:dns/promises';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { KnotConfig } from '../core/config';
import { parseDurationMs, splitHostPort } from '../core/config';
import { resolveHost } from '../core/srv';
import { createDb, dbReachable, dbTargetFromConfig, migrateLatest, type Db } from '../store/db';
import { NomadClient } from '../nomad/client';
import type { KnotMetrics } from '../metrics/metrics';
import type { ServerSettings } from '../activities/deps';

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

export function openNomad(cfg: KnotConfig, addr = cfg.server.nomad.addr, metrics?: KnotMetrics): NomadClient {
  return new NomadClient({
    ...(metrics ? { onResponse: metrics.recordNomadCall } : {}),
    addr,
    token: cfg.server.nomad.token || undefined,
    region: cfg.server.nomad.region || undefined,
    namespace: cfg.server.nomad.namespace,
    timeoutMs: parseDurationMs(cfg.server.nomad.timeout),
  });
}

export function serverSettings(cfg: KnotConfig): ServerSettings {
  return {
    url: cfg.server.url,
    wildcardDomain: cfg.server.wildcard_domain,
    agentEndpoint: cfg.server.agent_endpoint,
    encryptKey: cfg.server.encrypt,
    nomadDatacenter: cfg.server.nomad.datacenter,
    nomadRegion: cfg.server.nomad.region || 'global',
    nomadNamespace: cfg.server.nomad.namespace,
  };
}

export function healthChecks(db: Db, temporalUp: () => Promise<boolean>, redis: Redis | null): Record<string, () => Promise<boolean>> {
  const checks: Record<string, () => Promise<boolean>> = {
    store: () => dbReachable(db),
    temporal: temporalUp,
  };
  if (redis) checks.redis = async () => (await redis.ping()) === 'PONG';
  return checks;
}
