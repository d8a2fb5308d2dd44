/**
 * Agent link records on Redis (beside an SQL store, and as part of the Redis store) and on SQL
 * (SQLite and MariaDB): report, refresh, expiry into disconnected, disconnected; and the agent
 * route over real HTTP, where only a live agent token of the very space is accepted.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Redis from 'ioredis';
import { agentView, createAgentRouter } from '../../api/agent-routes';
import { loadConfig, type KnotConfig } from '../../core/config';
import { generateAgentToken, hashToken } from '../../core/crypto';
import { AuthFailureLimiter } from '../../api/rate-limit';
import { newId } from '../../core/names';
import { createAgentStateStore } from '../../store/agent-state';
import { RedisAgentStateStore } from '../../store/redis/agent-state';
import { SqlAgentStateStore } from '../../store/sql/agent-state';
import type { AgentStateStore } from '../../store/store';
import { createTestStore, type TestStore } from '../support/db';
import { seedTemplate, seedUser } from '../support/harness';

const KEY = Buffer.alloc(32, 9).toString('base64');

function redisUrl(): URL {
  const url = process.env.KNOT_TEST_REDIS;
  if (!url) throw new Error('KNOT_TEST_REDIS is not set: run the tests with `npm test`, which starts Redis');
  return new URL(url);
}

function config(redis: boolean, ttl: string): KnotConfig {
  const url = redisUrl();
  return loadConfig('', {
    KNOT_SERVER_ENCRYPT: KEY,
    KNOT_SERVER_REDIS_ENABLED: String(redis),
    // the store itself is the test's own SQLite/MariaDB: say so, as a Redis-only config must
    KNOT_SERVER_SQLITE_ENABLED: 'true',
    KNOT_SERVER_REDIS_HOST: `${url.hostname}:${url.port}`,
    KNOT_SERVER_REDIS_AGENT_TTL: ttl,
  });
}

/** Redis alone (seed 001 "Without MySQL — Redis"): the Redis store keeps agent state too */
function redisStoreConfig(ttl: string): KnotConfig {
  const url = redisUrl();
  return loadConfig('', { KNOT_SERVER_ENCRYPT: KEY, KNOT_SERVER_REDIS_ENABLED: 'true', KNOT_SERVER_REDIS_HOST: `${url.hostname}:${url.port}`, KNOT_SERVER_REDIS_AGENT_TTL: ttl });
}

/** `redis`: Redis agent state beside an SQLite store; `redis-store`: the Redis store's own */
type Kind = 'redis' | 'redis-store' | 'sqlite' | 'mysql';

describe.each<Kind>(['redis', 'redis-store', 'sqlite', 'mysql'])('agent state on %s', (kind) => {
  let testDb: TestStore;
  let redis: Redis | null = null;
  let now = Date.parse('2025-05-01T10:00:00Z');
  const clock = () => now;
  let store: AgentStateStore;
  const prefix = newId(Date.now()); // keeps this run's Redis keys apart from any other

  beforeAll(async () => {
    testDb = await createTestStore(kind === 'mysql' ? 'mysql' : kind === 'redis-store' ? 'redis' : 'sqlite');
    if (kind === 'redis') {
      const url = redisUrl();
      redis = new Redis({ host: url.hostname, port: Number(url.port), lazyConnect: true });
      await redis.connect();
    }
  });
  afterAll(async () => {
    await redis?.quit();
    await testDb.cleanup();
  });

  beforeEach(() => {
    // every driver reads expiry by the injected clock (Redis keeps the key itself a day longer)
    store =
      kind === 'redis-store'
        ? createAgentStateStore(redisStoreConfig('5m'), testDb.store, null, clock)
        : createAgentStateStore(config(kind === 'redis', '5m'), testDb.store, redis, clock);
  });

  it('is the store the configuration asks for', () => {
    expect(store).toBeInstanceOf(kind === 'redis' || kind === 'redis-store' ? RedisAgentStateStore : SqlAgentStateStore);
  });

  it('reports, reads one and many, keeps the last activity, expires into disconnected', async () => {
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    const t0 = now;
    expect(await store.get(a)).toBeNull();

    await store.report(a, { services: { ssh: true, ports: [8080] }, lastActivity: now - 1000, version: '1.2.3', sessions: 2 }, now);
    await store.report(b, { services: { codeServer: true } }, now);
    expect(await store.get(a)).toEqual({ connected: true, lastSeen: now, since: t0, lastActivity: now - 1000, services: { ssh: true, ports: [8080] }, version: '1.2.3', sessions: 2 });

    // a refresh keeps `since` and the last activity when it leaves it out (or gives an older one)
    now += 1000;
    await store.report(a, { services: { ssh: true, terminal: true } }, now);
    expect(await store.get(a)).toEqual({ connected: true, lastSeen: now, since: t0, lastActivity: t0 - 1000, services: { ssh: true, terminal: true }, version: null, sessions: 0 });
    await store.report(a, { services: {}, lastActivity: t0 - 60_000 }, now);
    expect((await store.get(a))?.lastActivity).toBe(t0 - 1000);

    const many = await store.getMany([a, b, `${prefix}missing`]);
    expect([...many.keys()].sort()).toEqual([a, b].sort());
    expect(many.get(b)).toEqual({ connected: true, lastSeen: t0, since: t0, lastActivity: null, services: { codeServer: true }, version: null, sessions: 0 });
    // read again (the SQL store reuses its parse of an unchanged record), then after a change
    expect((await store.getMany([b])).get(b)).toEqual(many.get(b));
    await store.report(b, { services: { codeServer: true, ssh: true }, sessions: 1 }, now);
    expect((await store.getMany([b])).get(b)).toMatchObject({ services: { codeServer: true, ssh: true }, sessions: 1 });

    // no refresh within the TTL: the record stays, down since it expired, with what the agent last said
    now += 5 * 60_000;
    const expiredAt = t0 + 1000 + 5 * 60_000;
    expect(await store.get(a)).toEqual({ connected: false, lastSeen: t0 + 1000, since: expiredAt, lastActivity: t0 - 1000, services: {}, version: null, sessions: 0 });
    expect((await store.getMany([a])).get(a)?.connected).toBe(false);

    // a new link after the expiry starts a new `since`
    await store.report(a, { services: {} }, now);
    expect(await store.get(a)).toMatchObject({ connected: true, since: now });

    await store.forget([a, b]);
    expect(await store.get(a)).toBeNull();
  });

  it('disconnected: down since then, no services, last activity and version kept; nothing without a record', async () => {
    const a = `${prefix}d`;
    const t0 = now;
    await store.disconnected(a, now);
    expect(await store.get(a)).toBeNull();
    await store.report(a, { services: { terminal: true }, lastActivity: t0 - 10, version: '2.0.0', sessions: 1, since: t0 - 500 }, now);
    expect((await store.get(a))?.since).toBe(t0 - 500);
    now += 2000;
    await store.disconnected(a, now);
    expect(await store.get(a)).toEqual({ connected: false, lastSeen: t0, since: now, lastActivity: t0 - 10, services: {}, version: '2.0.0', sessions: 0 });
    // long after, the record (and its `since`) is still there
    now += 60 * 60_000;
    expect(await store.get(a)).toMatchObject({ connected: false, since: now - 60 * 60_000 });
    // the next link comes up with its own `since`, and the activity never goes back
    await store.report(a, { services: {}, lastActivity: t0 - 20 }, now);
    expect(await store.get(a)).toMatchObject({ connected: true, since: now, lastActivity: t0 - 10 });
    await store.forget([a]);
  });

  it('names the replica holding the link; a late disconnect from another replica leaves the record alone', async () => {
    const a = `${prefix}h`;
    const [one, two] = ['http://10.0.0.1:3000', 'http://10.0.0.2:3000'];
    await store.report(a, { services: { terminal: true }, holder: one }, now);
    expect(await store.get(a)).toMatchObject({ connected: true, holder: one });
    // the agent relinked to the second replica; the first notices its old link's end only now
    now += 1000;
    await store.report(a, { services: { terminal: true }, holder: two }, now);
    await store.disconnected(a, now + 10, one);
    expect(await store.get(a)).toMatchObject({ connected: true, holder: two, services: { terminal: true } });
    // the holder's own disconnect does mark it down, and forgets the holder
    await store.disconnected(a, now + 20, two);
    const down = await store.get(a);
    expect(down).toMatchObject({ connected: false, since: now + 20 });
    expect(down?.holder).toBeUndefined();
    // an expired record names no holder either: nobody refreshes it
    await store.report(a, { services: {}, holder: one }, now);
    now += 5 * 60_000 + 1;
    expect((await store.get(a))?.holder).toBeUndefined();
    await store.forget([a]);
  });
});

describe('agent route over HTTP (the alias of the link)', () => {
  let testDb: TestStore;
  let base: string;
  let spaceId: string;
  let otherSpaceId: string;
  let deletedSpaceId: string;
  let store: AgentStateStore;
  let wrappedBase: string;
  let limitedBase: string;
  const servers: Server[] = [];

  const issue = async (space: string, kind: 'start' | 'manual' = 'start') => {
    const token = generateAgentToken();
    await testDb.store.agentTokens.issue({ id: newId(Date.now()), spaceId: space, kind, tokenHash: hashToken(token) }, Date.now());
    return token;
  };

  const listen = async (app: express.Express): Promise<[Server, string]> => {
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    servers.push(srv);
    return [srv, `http://127.0.0.1:${(srv.address() as AddressInfo).port}`];
  };

  beforeAll(async () => {
    testDb = await createTestStore('sqlite');
    const db = testDb.store;
    const owner = await seedUser(db, 'agentowner');
    const tpl = await seedTemplate(db, { name: 'agent-test', type: 'manual' });
    const mk = async (name: string) => {
      const id = newId(Date.now());
      await db.spaces.insert({ id, name, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: 'http://127.0.0.1:1' }, Date.now());
      return id;
    };
    spaceId = await mk('one');
    otherSpaceId = await mk('two');
    deletedSpaceId = await mk('three');
    await db.spaces.markDeleted(deletedSpaceId, Date.now());

    const cfg = config(false, '5m');
    store = createAgentStateStore(cfg, db);
    const app = express();
    app.use(createAgentRouter({ store: db, agentState: store, config: cfg }));
    // what the knot app does: every body read raw before the routes
    const wrapped = express();
    wrapped.use(express.raw({ type: () => true }));
    wrapped.use(createAgentRouter({ store: db, agentState: store, config: cfg }));
    // a limiter of its own, so the other tests' failures do not count here
    const limited = express();
    limited.use(createAgentRouter({ store: db, agentState: store, config: cfg, limiter: new AuthFailureLimiter({ maxFailures: 3, windowMs: 60_000, now: Date.now }) }));
    [, base] = await listen(app);
    [, wrappedBase] = await listen(wrapped);
    [, limitedBase] = await listen(limited);
  });
  afterAll(async () => {
    for (const srv of servers) await new Promise((r) => srv.close(r));
    await testDb.cleanup();
  });

  const post = (url: string, headers: Record<string, string>, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const report = { services: { ssh: true, codeServer: false, ports: [3000] }, lastActivity: Date.now() - 5000 };

  it("accepts the space's own token (Bearer or X-Knot-Agent-Token) with 204", async () => {
    const token = await issue(spaceId);
    const res = await post(`${base}/api/v1/agents/${spaceId}/state`, { authorization: `Bearer ${token}` }, report);
    expect(res.status).toBe(204);
    const state = await store.get(spaceId);
    expect(state).toMatchObject({ connected: true, lastActivity: report.lastActivity, services: report.services });
    const view = agentView({ phase: 'running', startedAt: Date.now() - 60_000, updatedAt: Date.now() - 60_000 }, state, Date.now());
    expect(view).toMatchObject({ state: 'connected', connected: true, services: report.services });
    expect(view.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT/);

    const res2 = await post(`${wrappedBase}/api/v1/agents/${spaceId}/state`, { 'x-knot-agent-token': token }, { services: {} });
    expect(res2.status).toBe(204);
  });

  it('accepts a manual token as well as a start token', async () => {
    const manual = await issue(spaceId, 'manual');
    expect((await post(`${base}/api/v1/agents/${spaceId}/state`, { authorization: `Bearer ${manual}` }, report)).status).toBe(204);
  });

  const refusals: [string, () => Promise<Record<string, string>>][] = [
    ['no token', async () => ({})],
    ['a forged token', async () => ({ authorization: 'Bearer knot_agent_forged' })],
    ["another space's token", async () => ({ authorization: `Bearer ${await issue(otherSpaceId)}` })],
    [
      'a revoked token',
      async () => {
        const revoked = await issue(spaceId);
        await testDb.store.agentTokens.revokeForSpace(spaceId, 'start');
        return { authorization: `Bearer ${revoked}` };
      },
    ],
    [
      'a replaced token',
      async () => {
        const old = await issue(spaceId, 'manual');
        await issue(spaceId, 'manual');
        return { 'x-knot-agent-token': old };
      },
    ],
  ];

  it.each(refusals)('refuses %s with 401 problem+json, always the same', async (_name, headers) => {
    const res = await post(`${base}/api/v1/agents/${spaceId}/state`, await headers(), report);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 401, title: expect.any(String), detail: expect.any(String), type: expect.stringMatching(/unauthorized$/) });
  });

  it('answers a malformed space id exactly as a wrong token', async () => {
    const token = await issue(spaceId);
    const res = await post(`${base}/api/v1/agents/not-an-id/state`, { authorization: `Bearer ${token}` }, report);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toBe('the agent token is not valid for this space');
  });

  it('counts failures: past the limit they answer 429 with Retry-After, while a valid token still passes', async () => {
    const bad = { authorization: 'Bearer knot_agent_guessing' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(`${limitedBase}/api/v1/agents/${spaceId}/state`, bad, report)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const limitedRes = await post(`${limitedBase}/api/v1/agents/${spaceId}/state`, bad, report);
    expect(limitedRes.status).toBe(429);
    expect(Number(limitedRes.headers.get('retry-after'))).toBeGreaterThan(0);
    const token = await issue(spaceId);
    expect((await post(`${limitedBase}/api/v1/agents/${spaceId}/state`, { authorization: `Bearer ${token}` }, report)).status).toBe(204);
  });

  it('validates the body strictly', async () => {
    const token = await issue(spaceId);
    for (const [url, headers] of [
      [base, { authorization: `Bearer ${token}` }],
      [wrappedBase, { authorization: `Bearer ${token}` }],
    ] as const) {
      const extra = await post(`${url}/api/v1/agents/${spaceId}/state`, headers, { services: { ssh: true, vnc: true } });
      expect(extra.status).toBe(400);
      const bad = await post(`${url}/api/v1/agents/${spaceId}/state`, headers, { services: { ports: [70000] } });
      expect(bad.status).toBe(400);
      const malformed = await post(`${url}/api/v1/agents/${spaceId}/state`, headers, '{"services":');
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('answers 404 for a deleted space whose token was somehow left', async () => {
    const res = await post(`${base}/api/v1/agents/${deletedSpaceId}/state`, { authorization: `Bearer ${await issue(deletedSpaceId)}` }, report);
    expect(res.status).toBe(404);
  });

  it('renders no record of a stopped space as disconnected, of a just started one as connecting', () => {
    const now = Date.now();
    expect(agentView({ phase: 'stopped', startedAt: null, updatedAt: now }, null, now)).toEqual({
      state: 'disconnected',
      since: null,
      version: null,
      services: {},
      sessions: 0,
      lastSeen: null,
      lastActivity: null,
      connected: false,
    });
    expect(agentView({ phase: 'starting', startedAt: null, updatedAt: now - 1000 }, null, now)).toMatchObject({ state: 'connecting', connected: false });
  });
});
