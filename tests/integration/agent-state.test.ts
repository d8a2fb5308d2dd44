/**
 * Agent state on Redis (beside an SQL store, and as part of the Redis store) and on SQL (SQLite and
 * MariaDB): report, get, getMany, expiry; and the
 * agent route over real HTTP, where only the agent token of the very space is accepted.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Redis from 'ioredis';
import { agentView, createAgentRouter } from '../../api/agent-routes';
import { loadConfig, type KnotConfig } from '../../core/config';
import { deriveAgentToken } from '../../core/crypto';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    // SQL expiry follows the injected clock; Redis expiry is Redis's own, so its TTL is real time
    store =
      kind === 'redis-store'
        ? createAgentStateStore(redisStoreConfig('700ms'), testDb.store, null, clock)
        : createAgentStateStore(config(kind === 'redis', kind === 'redis' ? '700ms' : '5m'), testDb.store, redis, clock);
  });

  it('is the store the configuration asks for', () => {
    expect(store).toBeInstanceOf(kind === 'redis' || kind === 'redis-store' ? RedisAgentStateStore : SqlAgentStateStore);
  });

  it('reports, reads one and many, keeps the last activity, expires', async () => {
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    expect(await store.get(a)).toBeNull();

    await store.report(a, { services: { ssh: true, ports: [8080] }, lastActivity: now - 1000 }, now);
    await store.report(b, { services: { codeServer: true } }, now);
    expect(await store.get(a)).toEqual({ connected: true, lastSeen: now, lastActivity: now - 1000, services: { ssh: true, ports: [8080] } });

    // a report without lastActivity keeps the previous one
    now += 1000;
    await store.report(a, { services: { ssh: true, terminal: true } }, now);
    expect(await store.get(a)).toEqual({ connected: true, lastSeen: now, lastActivity: now - 2000, services: { ssh: true, terminal: true } });

    const many = await store.getMany([a, b, `${prefix}missing`]);
    expect([...many.keys()].sort()).toEqual([a, b].sort());
    expect(many.get(b)).toEqual({ connected: true, lastSeen: now - 1000, lastActivity: null, services: { codeServer: true } });

    if (kind === 'redis' || kind === 'redis-store') {
      await sleep(900);
      expect(await store.get(a)).toBeNull();
      expect((await store.getMany([a, b])).size).toBe(0);
    } else {
      now += 5 * 60_000;
      // the row stays with what the agent last said; it just no longer counts as connected
      expect(await store.get(a)).toMatchObject({ connected: false, lastActivity: now - 5 * 60_000 - 2000 });
      expect((await store.getMany([a])).get(a)?.connected).toBe(false);
    }

    await store.report(a, { services: {} }, now);
    await store.forget([a, b]);
    expect(await store.get(a)).toBeNull();
  });
});

describe('agent route over HTTP', () => {
  let testDb: TestStore;
  let server: Server;
  let base: string;
  let spaceId: string;
  let otherSpaceId: string;
  let deletedSpaceId: string;
  let store: AgentStateStore;
  let wrappedServer: Server;
  let wrappedBase: string;

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
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    wrappedServer = wrapped.listen(0, '127.0.0.1');
    await new Promise((r) => wrappedServer.once('listening', r));
    wrappedBase = `http://127.0.0.1:${(wrappedServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => wrappedServer.close(r));
    await testDb.cleanup();
  });

  const post = (url: string, headers: Record<string, string>, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const report = { services: { ssh: true, codeServer: false, ports: [3000] }, lastActivity: Date.now() - 5000 };

  it('accepts the space\'s own token (Bearer or X-Knot-Agent-Token) with 204', async () => {
    const token = deriveAgentToken(KEY, spaceId);
    const res = await post(`${base}/api/v1/agents/${spaceId}/state`, { authorization: `Bearer ${token}` }, report);
    expect(res.status).toBe(204);
    const state = await store.get(spaceId);
    expect(state).toMatchObject({ connected: true, lastActivity: report.lastActivity, services: report.services });
    const view = agentView(state);
    expect(view.connected).toBe(true);
    expect(view.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT/);

    const res2 = await post(`${wrappedBase}/api/v1/agents/${spaceId}/state`, { 'x-knot-agent-token': token }, { services: {} });
    expect(res2.status).toBe(204);
  });

  it.each<[string, () => Record<string, string>]>([
    ['no token', () => ({})],
    ['a forged token', () => ({ authorization: 'Bearer knot_agent_forged' })],
    ['another space\'s token', () => ({ authorization: `Bearer ${deriveAgentToken(KEY, otherSpaceId)}` })],
    ['a token made with another key', () => ({ 'x-knot-agent-token': deriveAgentToken(Buffer.alloc(32, 1).toString('base64'), spaceId) })],
  ])('refuses %s with 401 problem+json', async (_name, headers) => {
    const res = await post(`${base}/api/v1/agents/${spaceId}/state`, headers(), report);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 401, title: expect.any(String), detail: expect.any(String), type: expect.stringMatching(/unauthorized$/) });
  });

  it('validates the body strictly', async () => {
    const token = deriveAgentToken(KEY, spaceId);
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

  it('answers 404 for a deleted space even with its valid token', async () => {
    const res = await post(`${base}/api/v1/agents/${deletedSpaceId}/state`, { authorization: `Bearer ${deriveAgentToken(KEY, deletedSpaceId)}` }, report);
    expect(res.status).toBe(404);
  });

  it('renders no state as disconnected', () => {
    expect(agentView(null)).toEqual({ connected: false, lastSeen: null, lastActivity: null, services: {} });
  });
});
