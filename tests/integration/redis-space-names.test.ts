/**
 * The Redis store's name index of spaces (the space list's name filter): the schema step that
 * builds it for a store written at schema 1, and each way the filter reads — the matches gathered
 * and sorted, a walk of the list order, and a walk that gives up and gathers (store/redis/spaces.ts)
 * — answering the same pages. The limits are made small so a few spaces reach every way; the store
 * conformance suite checks the answers on every driver at the real limits.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { newId } from '../../core/names';
import type { NewSpace, Space, SpaceFilter, User } from '../../store/model';
import { createRedisStore, REDIS_SCHEMA_VERSION } from '../../store/redis';
import type { Store } from '../../store/store';

const T = Date.parse('2025-03-01T00:00:00Z');

describe('Redis space name index', () => {
  let redis: Redis;
  const stores: Store[] = [];
  let prefixes = 0;

  async function openStore(nameFilterLimits?: { gatherMax: number; walkBudget: number; walkPage: number }): Promise<{ store: Store; prefix: string }> {
    const prefix = `knot-names-test-${randomBytes(4).toString('hex')}-${prefixes++}:`;
    const store = createRedisStore(redis, { prefix, ...(nameFilterLimits ? { nameFilterLimits } : {}) });
    stores.push(store);
    await store.migrate();
    return { store, prefix };
  }

  async function ownerAndTemplate(store: Store): Promise<{ owner: User; templateId: string }> {
    const owner = await store.users.insert({ id: newId(T), username: 'alice', email: '', timezone: 'UTC', role: 'user', active: true }, T);
    const tpl = await store.templates.insert(
      newId(T),
      { name: 'tpl', displayName: '', description: '', type: 'nomad', groups: [] },
      { versionId: newId(T), version: '1.0.0', contentHash: 'h', content: {}, createdBy: null },
      T,
    );
    return { owner, templateId: tpl.id };
  }

  const newSpace = (ownerId: string, templateId: string, name: string, at: number): NewSpace => ({
    id: newId(at),
    name,
    ownerId,
    templateId,
    templateRef: '',
    parameters: {},
    shell: 'bash',
    agentUrl: null,
  });

  beforeAll(async () => {
    const url = process.env.KNOT_TEST_REDIS;
    if (!url) throw new Error('KNOT_TEST_REDIS is not set: run the tests with `npm test`, which starts Redis');
    const u = new URL(url);
    redis = new Redis({ host: u.hostname, port: Number(u.port), lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });
  afterAll(async () => {
    for (const s of stores) {
      await s.migrateDown();
      await s.close();
    }
    await redis.quit();
  });

  it('schema 1 → 2 indexes the names of the live spaces a store holds; a newer layout is refused', async () => {
    const { store, prefix } = await openStore();
    const { owner, templateId } = await ownerAndTemplate(store);
    const dev1 = await store.spaces.insert(newSpace(owner.id, templateId, 'dev1', T + 1), T + 1);
    const dev2 = await store.spaces.insert(newSpace(owner.id, templateId, 'dev2', T + 2), T + 2);
    await store.spaces.insert(newSpace(owner.id, templateId, 'prod', T + 3), T + 3);
    const gone = await store.spaces.insert(newSpace(owner.id, templateId, 'dev3', T + 4), T + 4);
    await store.spaces.markDeleted(gone.id, T + 5);

    // what a schema-1 store holds: everything but the name index
    await redis.del(`${prefix}spaces:names`);
    await redis.set(`${prefix}schema`, '1');
    expect(await store.spaces.list({ namePrefix: 'dev', limit: 10 })).toEqual([]);

    // schema 3's step (never-started operations) runs after it: nothing to index here
    expect(await store.migrate()).toEqual(['redis schema 2: space name index', 'redis schema 3: never-started operations index']);
    expect(await redis.get(`${prefix}schema`)).toBe(String(REDIS_SCHEMA_VERSION));
    expect((await store.spaces.list({ namePrefix: 'dev', limit: 10 })).map((s) => s.id)).toEqual([dev1.id, dev2.id]);
    expect(await redis.zcard(`${prefix}spaces:names`)).toBe(3);
    expect(await store.migrate()).toEqual([]);

    await redis.set(`${prefix}schema`, String(REDIS_SCHEMA_VERSION + 1));
    await expect(store.migrate()).rejects.toThrow(/newer knot/);
    await redis.set(`${prefix}schema`, String(REDIS_SCHEMA_VERSION));
  });

  it('gathered, walked, or walked then gathered: the same pages in both orders', async () => {
    // gather at most 3 matches; a walk reads 2 documents a round trip and gives up after 4
    const { store } = await openStore({ gatherMax: 3, walkBudget: 4, walkPage: 2 });
    const { owner, templateId } = await ownerAndTemplate(store);
    const live: Space[] = [];
    // oldest first: 6 'old-' spaces, then 8 'new-' ones, then 'rare-' between two of them
    const names = ['old-a', 'old-b', 'old-c', 'old-d', 'old-e', 'old-f', 'new-a', 'new-b', 'new-c', 'rare-a', 'new-d', 'new-e', 'new-f', 'new-g', 'new-h'];
    for (const [i, name] of names.entries()) live.push(await store.spaces.insert(newSpace(owner.id, templateId, name, T + i), T + i));
    const gone = await store.spaces.insert(newSpace(owner.id, templateId, 'old-gone', T + 3), T + 3);
    await store.spaces.markDeleted(gone.id, T + 20);

    const expected = (prefix: string, newestFirst: boolean) => {
      const found = live.filter((s) => s.name.startsWith(prefix)).map((s) => s.name);
      return newestFirst ? found.reverse() : found;
    };
    async function pages(f: Omit<SpaceFilter, 'limit' | 'after'>, limit: number): Promise<string[]> {
      const out: string[] = [];
      let after: SpaceFilter['after'];
      for (;;) {
        const page = await store.spaces.list({ ...f, limit, ...(after ? { after } : {}) });
        out.push(...page.map((s) => s.name));
        const last = page[page.length - 1];
        if (!last || page.length < limit) return out;
        after = { createdAt: last.createdAt, id: last.id };
      }
    }
    // rare-: 1 match, gathered; new-: 8, dense among the newest, walked; old-: 6 behind 9 newer
    // spaces, a newest-first walk gives up and gathers
    for (const prefix of ['rare-', 'new-', 'old-', 'o', '']) {
      for (const newestFirst of [false, true]) {
        const f = { ...(prefix ? { namePrefix: prefix } : {}), newestFirst };
        for (const limit of [1, 2, 5, 20]) {
          expect({ prefix, newestFirst, limit, got: await pages(f, limit) }).toEqual({ prefix, newestFirst, limit, got: expected(prefix, newestFirst) });
        }
      }
    }
    // with an owner filter (an index as big as the matches or smaller: walked, filtered by name)
    expect(await pages({ namePrefix: 'old-', ownerId: owner.id, newestFirst: true }, 2)).toEqual(expected('old-', true));
  });
});
