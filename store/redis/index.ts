/**
 * The Redis driver of the store (ioredis). Records are JSON documents under one key prefix (see
 * keys.ts), uniqueness and ordering are index keys derived from the records, and every write of
 * more than one key is an optimistic WATCH/MULTI/EXEC transaction on a pooled connection (kv.ts).
 */
import type Redis from 'ioredis';
import { DEFAULT_EVENT_RETENTION } from '../model';
import type { Repositories, Store } from '../store';
import { RedisAgentStateStore } from './agent-state';
import { redisAgentTokens } from './agent-tokens';
import { redisAudit } from './audit';
import { EventRetention, redisEvents } from './events';
import { redisGroups } from './groups';
import { Keys } from './keys';
import { joinedKv, rootKv, TxRunner, type Kv } from './kv';
import { LogStore } from './logs';
import { redisOperations } from './operations';
import { redisQuotas } from './quotas';
import { redisAutostarts } from './autostarts';
import { redisDormancy } from './dormancy';
import { ConnectionPool } from './pool';
import { dropAll, migrate, REDIS_SCHEMA_VERSION } from './schema';
import { redisSessions } from './sessions';
import { NAME_FILTER_LIMITS, redisSpaces, type NameFilterLimits } from './spaces';
import { redisSpaceShares } from './space-shares';
import { redisSshKeys } from './ssh-keys';
import { redisSteps } from './steps';
import { redisTemplates } from './templates';
import { redisTokens } from './tokens';
import { redisUsers } from './users';
import { redisVariables } from './variables';
import { redisVolumes } from './volumes';
import { redisWebhooks } from './webhooks';

export { REDIS_SCHEMA_VERSION };
export { RedisAgentStateStore, type RedisAgentStateOptions } from './agent-state';

export interface RedisStoreOptions {
  /** key prefix, default 'knot:' (tests use a random prefix per test for isolation) */
  prefix?: string;
  /** quit `redis` on close() (true when the store opened it) */
  ownsConnection?: boolean;
  /** dedicated connections for transactions (WATCH is per connection), default 8 */
  txConnections?: number;
  eventRetention?: number;
  /** shown by describe(), e.g. '127.0.0.1:6379 db 0' */
  location?: string;
  /** how the space list's name filter reads; tests make them small to reach each way with a few spaces */
  nameFilterLimits?: NameFilterLimits;
}

const DEFAULT_TX_CONNECTIONS = 8;
/** `ping()` answers false rather than wait longer than this. */
const PING_TIMEOUT_MS = 2_000;

function repositories(kv: Kv, keys: Keys, retention: EventRetention, nameLimits: NameFilterLimits): Repositories {
  return {
    users: redisUsers(kv, keys),
    groups: redisGroups(kv, keys),
    tokens: redisTokens(kv, keys),
    sessions: redisSessions(kv, keys),
    sshKeys: redisSshKeys(kv, keys),
    agentTokens: redisAgentTokens(kv, keys),
    templates: redisTemplates(kv, keys),
    variables: redisVariables(kv, keys),
    spaces: redisSpaces(kv, keys, nameLimits),
    shares: redisSpaceShares(kv, keys),
    volumes: redisVolumes(kv, keys),
    operations: redisOperations(kv, keys),
    steps: redisSteps(kv, keys),
    events: redisEvents(kv, keys, retention),
    audit: redisAudit(kv, keys),
    webhooks: redisWebhooks(kv, keys),
    quotas: redisQuotas(kv, keys),
    autostarts: redisAutostarts(kv, keys),
    dormancy: redisDormancy(kv, keys),
  };
}

/**
 * Connects a lazy main connection that has not been used yet: without an offline queue its first
 * commands would fail instead of waiting for the connection.
 */
async function connected(redis: Redis): Promise<void> {
  if (redis.status === 'wait') await redis.connect().catch(() => undefined);
}

/** Whether Redis answers a PING in time; never throws. */
async function answers(redis: Redis): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  const pong = (async () => {
    await connected(redis);
    return (await redis.ping()) === 'PONG';
  })().catch(() => false);
  try {
    return await Promise.race([pong, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createRedisStore(redis: Redis, opts: RedisStoreOptions = {}): Store {
  const keys = new Keys(opts.prefix ?? 'knot:');
  const location = opts.location ?? `${redis.options.host ?? '127.0.0.1'}:${redis.options.port ?? 6379} db ${redis.options.db ?? 0}`;
  const pool = new ConnectionPool(redis, Math.max(1, opts.txConnections ?? DEFAULT_TX_CONNECTIONS));
  const runner = new TxRunner(pool);
  const logs = new LogStore(redis, pool);
  const retention = new EventRetention(opts.eventRetention ?? DEFAULT_EVENT_RETENTION);
  const nameLimits = opts.nameFilterLimits ?? NAME_FILTER_LIMITS;
  const root = repositories(rootKv(redis, runner, logs), keys, retention, nameLimits);
  let closed = false;

  return {
    kind: 'redis',
    ...root,
    transaction: (work) => runner.run((tx) => work(repositories(joinedKv(tx, logs), keys, retention, nameLimits))),
    // over the store's own connection, which it does not own
    agentState: (ttlMs, clock) => new RedisAgentStateStore(redis, ttlMs, { prefix: keys.prefix, ...(clock ? { clock } : {}) }),
    migrate: async () => {
      await connected(redis);
      return migrate(redis, pool, keys, location);
    },
    migrateDown: () => dropAll(redis, keys),
    ping: () => answers(redis),
    describe: () => `redis ${location}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.close();
      if (opts.ownsConnection) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
