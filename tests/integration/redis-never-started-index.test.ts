/**
 * The Redis store's index of operations still pending without a run (the cleanup sweep's
 * never-started pass): the schema step that builds it for a store written at schema 2. The query
 * itself is checked on every driver by the store conformance suite.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { newId } from '../../core/names';
import { createRedisStore, REDIS_SCHEMA_VERSION } from '../../store/redis';
import type { Store } from '../../store/store';

const T = Date.parse('2025-03-01T00:00:00Z');

describe('Redis never-started operations index', () => {
  let redis: Redis;
  let store: Store;
  const prefix = `knot-not-started-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    const url = process.env.KNOT_TEST_REDIS;
    if (!url) throw new Error('KNOT_TEST_REDIS is not set: run the tests with `npm test`, which starts Redis');
    const u = new URL(url);
    redis = new Redis({ host: u.hostname, port: Number(u.port), lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    store = createRedisStore(redis, { prefix });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.migrateDown();
    await store?.close();
    await redis?.quit();
  });

  it('schema 2 → 3 indexes the pending operations without a run a store holds', async () => {
    const insert = (createdAt: number) => {
      const spaceId = newId(createdAt);
      return store.operations.insert({ id: newId(createdAt), spaceId, type: 'start', requestedBy: 'u', workflowId: `space-${spaceId}`, deadlineAt: createdAt + 3600_000 }, createdAt);
    };
    const pendingNewer = await insert(T + 2);
    const pendingOlder = await insert(T + 1);
    const running = await insert(T + 3);
    await store.operations.markRunning(running.id, 'run', T + 4);
    const finished = await insert(T + 5);
    await store.operations.finish(finished.id, { status: 'failed' }, T + 6);

    // what a schema-2 store holds: everything but the new index
    await redis.del(`${prefix}ops:not-started`);
    await redis.set(`${prefix}schema`, '2');
    expect(await store.operations.listNeverStarted(T + 10, null, 10)).toEqual([]);

    expect(await store.migrate()).toEqual(['redis schema 3: never-started operations index']);
    expect(await redis.get(`${prefix}schema`)).toBe(String(REDIS_SCHEMA_VERSION));
    expect(await store.operations.listNeverStarted(T + 10, null, 10)).toEqual([pendingOlder, pendingNewer]);
    expect(await redis.zcard(`${prefix}ops:not-started`)).toBe(2);
    expect(await store.migrate()).toEqual([]);
  });
});
