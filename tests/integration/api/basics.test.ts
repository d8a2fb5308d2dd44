/** Errors as problem+json, auth, bootstrap, rate limiting, request ids, health, OpenAPI. */
import { createHash } from 'node:crypto';
import pino from 'pino';
import { bootstrapAdmin } from '../../../api/auth';
import { loadConfig } from '../../../core/config';
import { createTestStore, storeKinds } from '../../support/db';
import { closeTemporal, startHarness, type Harness } from './harness';

afterAll(closeTemporal);

describe.each(storeKinds())('API basics on %s', (kind) => {
  let h: Harness;
  /** moves the API's clock forward instead of sleeping (token expiry) */
  let skewMs = 0;
  beforeAll(async () => {
    h = await startHarness(kind, { clock: () => Date.now() + skewMs });
  });
  afterAll(async () => h.close());

  const expectProblem = (r: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, type: string) => {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.type).toBe(`https://knot.dev/problems/${type}`);
    expect(r.body.status).toBe(status);
    expect(typeof r.body.title).toBe('string');
    expect(typeof r.body.detail).toBe('string');
    expect(typeof r.body.requestId).toBe('string');
    expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
    expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+/);
  };

  test('whoami with the bootstrap token', async () => {
    const r = await h.call('GET', '/api/v1/whoami');
    expect(r.status).toBe(200);
    expect((r.body.user as { username: string }).username).toBe('admin');
    expect(r.body.isAdmin).toBe(true);
  });

  test('unknown route → 404 problem with instance', async () => {
    const r = await h.call('GET', '/api/v1/nope');
    expectProblem(r, 404, 'not_found');
    expect(r.body.instance).toBe('/api/v1/nope');
  });

  test('known path, wrong method → 405 with Allow', async () => {
    const r = await h.call('PUT', '/api/v1/whoami');
    expect(r.status).toBe(405);
    expect(r.body.type).toBe('https://knot.dev/problems/method_not_allowed');
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    // a literal path next to a parameter one: only its own methods, not those of /templates/{name}
    const v = await h.call('OPTIONS', '/api/v1/templates/validate');
    expectProblem(v, 405, 'method_not_allowed');
    expect(v.headers.get('allow')).toBe('POST');
    expect(v.body.allowed).toEqual(['POST']);
  });

  test('X-Request-Id is echoed, or generated', async () => {
    const given = await h.call('GET', '/api/v1/nope', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    expect(given.body.requestId).toBe('abc-123');
    const bad = await h.call('GET', '/api/v1/nope', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('helmet security headers', async () => {
    const r = await h.call('GET', '/api/v1/whoami');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-powered-by')).toBeNull();
    expect(r.headers.get('strict-transport-security')).toBeTruthy();
  });

  test('missing, malformed, unknown tokens → 401', async () => {
    expectProblem(await h.call('GET', '/api/v1/whoami', { token: null }), 401, 'unauthorized');
    expectProblem(await h.call('GET', '/api/v1/whoami', { headers: { authorization: 'Basic Zm9vOmJhcg==' }, token: null }), 401, 'unauthorized');
  });

  test('expired and revoked tokens → 401; deactivating a user revokes their tokens', async () => {
    const { user, token } = await h.user(`carol${kind}`);
    const created = await h.call('POST', '/api/v1/tokens', { token, body: { name: 'short', expiresAt: new Date(Date.now() + 1500).toISOString() } });
    expect(created.status).toBe(201);
    const secret = created.body.token as string;
    expect((await h.call('GET', '/api/v1/whoami', { token: secret })).status).toBe(200);
    // the listing never shows secrets
    const list = await h.call('GET', '/api/v1/tokens', { token });
    expect(list.text).not.toContain(secret);
    skewMs = 1600;
    try {
      expect((await h.call('GET', '/api/v1/whoami', { token: secret })).status).toBe(401);
    } finally {
      skewMs = 0;
    }
    // revoke own token
    const t2 = await h.call('POST', '/api/v1/tokens', { token, body: { name: 'two' } });
    expect((await h.call('DELETE', `/api/v1/tokens/${t2.body.id as string}`, { token })).status).toBe(204);
    expect((await h.call('GET', '/api/v1/whoami', { token: t2.body.token as string })).status).toBe(401);
    // deactivate → the remaining token stops working
    expect((await h.call('PATCH', `/api/v1/users/${user.id}`, { body: { active: false } })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/whoami', { token })).status).toBe(401);
    expect((await h.store.tokens.listOfUser(user.id)).filter((t) => t.revokedAt === null)).toHaveLength(0);
    // tokens are stored hashed: the secret is nowhere in the store, its sha256 is
    const raw = await h.rawDump();
    expect(raw).not.toContain(token);
    expect(raw).toContain(createHash('sha256').update(token).digest('hex'));
  });

  test('health: ok, and 503 naming what is down', async () => {
    const r = await h.call('GET', '/health', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok', checks: { store: 'ok' } });
    const down = await startHarness(kind, {
      health: { checks: { store: async () => true, temporal: async () => false, redis: () => new Promise(() => undefined) }, timeoutMs: 200 },
    });
    try {
      const d = await down.call('GET', '/health', { token: null });
      expect(d.status).toBe(503);
      expect(d.body).toEqual({ status: 'unavailable', checks: { store: 'ok', temporal: 'down', redis: 'down' } });
    } finally {
      await down.close();
    }
  });

  test('OpenAPI document lists every route', async () => {
    const r = await h.call('GET', '/api/v1/openapi.json', { token: null });
    expect(r.status).toBe(200);
    const doc = r.body as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    const expected: [string, string][] = [
      ['/health', 'get'],
      ['/api/v1/whoami', 'get'],
      ['/api/v1/users', 'get'], ['/api/v1/users', 'post'], ['/api/v1/users/{id}', 'get'], ['/api/v1/users/{id}', 'patch'], ['/api/v1/users/{id}', 'delete'], ['/api/v1/users/{id}/tokens', 'post'],
      ['/api/v1/groups', 'get'], ['/api/v1/groups', 'post'], ['/api/v1/groups/{name}', 'get'], ['/api/v1/groups/{name}', 'patch'], ['/api/v1/groups/{name}', 'delete'],
      ['/api/v1/tokens', 'get'], ['/api/v1/tokens', 'post'], ['/api/v1/tokens/{id}', 'delete'],
      ['/api/v1/templates', 'get'], ['/api/v1/templates', 'post'], ['/api/v1/templates/validate', 'post'], ['/api/v1/templates/{name}', 'get'], ['/api/v1/templates/{name}', 'put'],
      ['/api/v1/templates/{name}', 'patch'], ['/api/v1/templates/{name}', 'delete'], ['/api/v1/templates/{name}/versions', 'get'],
      ['/api/v1/variables', 'get'], ['/api/v1/variables', 'post'], ['/api/v1/variables/{name}', 'get'], ['/api/v1/variables/{name}', 'patch'], ['/api/v1/variables/{name}', 'delete'],
      ['/api/v1/spaces', 'get'], ['/api/v1/spaces', 'post'], ['/api/v1/spaces/{id}', 'get'], ['/api/v1/spaces/{id}', 'patch'], ['/api/v1/spaces/{id}', 'delete'],
      ['/api/v1/spaces/{id}/start', 'post'], ['/api/v1/spaces/{id}/stop', 'post'], ['/api/v1/spaces/{id}/restart', 'post'], ['/api/v1/spaces/{id}/update', 'post'],
      ['/api/v1/spaces/{id}/operations', 'get'], ['/api/v1/operations/{id}', 'get'], ['/api/v1/audit', 'get'], ['/api/v1/openapi.json', 'get'],
    ];
    for (const [p, m] of expected) expect(doc.paths[p]?.[m]).toBeDefined();
    // every $ref resolves
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(doc.components.schemas[ref]).toBeDefined();
    expect(doc.components.schemas.Problem).toBeDefined();
    const patch = doc.paths['/api/v1/templates/{name}']!.patch as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(patch.requestBody.content).sort()).toEqual(['application/json-patch+json', 'application/merge-patch+json']);
  });

  test('a flood of bad tokens from one address never turns a valid token away; the bad ones get 429', async () => {
    let now = Date.now();
    const limited = await startHarness(kind, { clock: () => now });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 35; i++) statuses.push((await limited.call('GET', '/api/v1/whoami', { token: `knot_wrong_${i}_${'x'.repeat(20)}` })).status);
      // the default limit is 20 failures a minute: the first 20 are 401, every later failure 429
      expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(statuses.slice(20)).toEqual(Array(15).fill(429));
      const good = await limited.call('GET', '/api/v1/whoami');
      expect(good.status).toBe(200);
      expect((good.body.user as { username: string }).username).toBe('admin');
      const bad = await limited.call('GET', '/api/v1/whoami', { token: 'knot_wrong_again_xxxxxxxxxxxx' });
      expectProblem(bad, 429, 'rate_limited');
      expect(Number(bad.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await limited.call('GET', '/api/v1/whoami')).status).toBe(200);
      // the window passes: failures are plain 401s again
      now += 61_000;
      expect((await limited.call('GET', '/api/v1/whoami', { token: 'knot_wrong_later_xxxxxxxxxxxx' })).status).toBe(401);
    } finally {
      await limited.close();
    }
  });

  test('behind server.trust_proxy, two X-Forwarded-For clients are limited separately; a token prefix is limited across addresses', async () => {
    const proxied = await startHarness(kind, { authFailures: { max: 5, windowMs: 60_000 }, config: { KNOT_SERVER_TRUST_PROXY: 'loopback' } });
    try {
      const from = (ip: string, token: string) => proxied.call('GET', '/api/v1/whoami', { token, headers: { 'x-forwarded-for': ip } });
      for (let i = 0; i < 5; i++) expect((await from('203.0.113.7', `knot_a${i}wrong_xxxxxxxxxxxxxxxx`)).status).toBe(401);
      expect((await from('203.0.113.7', 'knot_a9wrong_xxxxxxxxxxxxxxxx')).status).toBe(429);
      // another client behind the same proxy is not affected by the first one's failures
      expect((await from('198.51.100.20', 'knot_b0wrong_xxxxxxxxxxxxxxxx')).status).toBe(401);
      expect((await from('203.0.113.7', proxied.adminToken)).status).toBe(200);
      // one broken token tried from many addresses: limited by its prefix
      const prefixStatuses: number[] = [];
      for (let i = 0; i < 7; i++) prefixStatuses.push((await from(`192.0.2.${i + 1}`, `knot_SAMEprefix_${i}_xxxxxxxxxx`)).status);
      expect(prefixStatuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    } finally {
      await proxied.close();
    }
  });

  test('without server.trust_proxy, X-Forwarded-For is ignored: a client cannot dodge the limit by inventing addresses', async () => {
    const direct = await startHarness(kind, { authFailures: { max: 3, windowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await direct.call('GET', '/api/v1/whoami', { token: `knot_x${i}wrong_xxxxxxxxxxxxxx`, headers: { 'x-forwarded-for': `10.9.9.${i}` } })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await direct.close();
    }
  });
});

describe.each(storeKinds())('bootstrapAdmin on %s', (kind) => {
  const logger = pino({ level: 'silent' });

  test('with server.bootstrap_token (KNOT_BOOTSTRAP_TOKEN): admin gets that token; later starts do nothing', async () => {
    const t = await createTestStore(kind);
    try {
      const config = loadConfig('', { KNOT_BOOTSTRAP_TOKEN: 'knot_configured_token_123456' });
      const first = await bootstrapAdmin(t.store, config, logger);
      expect(first).toEqual({ created: true, username: 'admin' });
      const users = (await t.store.users.list()).map((u) => ({ username: u.username, role: u.role }));
      expect(users).toEqual([{ username: 'admin', role: 'admin' }]);
      expect(await bootstrapAdmin(t.store, config, logger)).toEqual({ created: false });
      expect(await t.store.users.count()).toBe(1);
    } finally {
      await t.cleanup();
    }
  });

  test('without a configured token: a generated one, returned once, stored only hashed', async () => {
    const t = await createTestStore(kind);
    try {
      const result = await bootstrapAdmin(t.store, loadConfig('', {}), logger);
      expect(result.created).toBe(true);
      expect(result.generatedToken).toMatch(/^knot_[A-Za-z0-9_-]{43}$/);
      const [admin] = await t.store.users.list();
      expect(await t.store.tokens.listOfUser(admin!.id)).toHaveLength(1);
      expect(await t.rawDump()).not.toContain(result.generatedToken);
      expect(await bootstrapAdmin(t.store, loadConfig('', {}), logger)).toEqual({ created: false });
    } finally {
      await t.cleanup();
    }
  });
});
