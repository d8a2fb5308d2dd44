/**
 * Opens the store the configuration chooses (`storeChoice`): the SQL driver over MySQL/MariaDB or
 * SQLite, or the Redis driver over the Redis connection `server.redis.*` describes. Migrates it
 * (SQL migrations, or the Redis schema version) before anyone uses it.
 */
import { resolveSrv } from 'node:dns/promises';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { splitHostPort, storeChoice, type KnotConfig } from '../core/config';
import { resolveHost } from '../core/srv';
import { createRedisStore } from './redis';
import { createDb, createSqlStore, dbTargetFromConfig } from './sql';
import type { Store } from './store';

/**
 * A Redis connection from `server.redis.*` (`srv+` resolved). Commands are never queued while it is
 * down nor resent after a reconnect: a resent transaction could apply twice, and a caller is better
 * told at once that the store is unavailable (the API answers 503, activities retry).
 */
export async function connectRedis(cfg: KnotConfig): Promise<Redis> {
  const r = cfg.server.redis;
  const { host, port } = splitHostPort(r.host, 6379);
  const target = await resolveHost(host, port, resolveSrv);
  const redis = new Redis({
    host: target.host,
    port: target.port,
    password: r.password || undefined,
    db: r.db,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 5_000,
  });
  await redis.connect();
  return redis;
}

/** `redis` is the Redis connection already open for agent state (reused by a Redis store). */
export async function openStore(cfg: KnotConfig, logger: Logger, redis: Redis | null = null): Promise<Store> {
  let store: Store;
  if (storeChoice(cfg) === 'redis') {
    const conn = redis ?? (await connectRedis(cfg));
    store = createRedisStore(conn, { ownsConnection: redis === null, prefix: cfg.server.redis.prefix, location: `${cfg.server.redis.host} db ${cfg.server.redis.db}` });
  } else {
    const m = cfg.server.mysql;
    const host = m.enabled ? await resolveHost(m.host, m.port, resolveSrv) : undefined;
    const target = dbTargetFromConfig(cfg, host);
    store = createSqlStore(createDb(target), target);
  }
  const applied = await store.migrate();
  if (applied.length > 0) logger.info({ migrations: applied, store: store.kind }, 'store migrated');
  return store;
}
