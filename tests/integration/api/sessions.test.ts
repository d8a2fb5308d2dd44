/**
 * Web sign-in over HTTP: login (password or token), the session and CSRF cookies, CSRF checks on
 * cookie requests, listing and revoking sessions, logout, passwords, and the sign-in rate limit.
 * Cookies are read from `set-cookie` and sent back in `cookie`, as a browser would.
 */
import { hashToken } from '../../../core/crypto';
import { storeKinds } from '../../support/db';
import { closeTemporal, startHarness, type ApiResponse, type Harness } from './harness';

afterAll(closeTemporal);

const PASSWORD = 'correct horse battery';
const EVIL_ORIGIN = 'http://evil.example';

interface SetCookie {
  name: string;
  value: string;
  /** attribute names lower-cased → value ('' for flags) */
  attrs: Map<string, string>;
}

function setCookiesOf(r: ApiResponse): SetCookie[] {
  return r.headers.getSetCookie().map((line) => {
    const [pair = '', ...rest] = line.split(';');
    const eq = pair.indexOf('=');
    const attrs = new Map<string, string>();
    for (const a of rest) {
      const i = a.indexOf('=');
      if (i < 0) attrs.set(a.trim().toLowerCase(), '');
      else attrs.set(a.slice(0, i).trim().toLowerCase(), a.slice(i + 1).trim());
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
  });
}

interface Browser {
  /** the `cookie` request header */
  cookie: string;
  secret: string;
  csrf: string;
  sessionId: string;
}

const expectProblem = (r: ApiResponse, status: number, type: string) => {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.type).toBe(`https://knot.dev/problems/${type}`);
  expect(typeof r.body.detail).toBe('string');
};

/** The parts of a problem that must not depend on which wrong credential was sent. */
const problemShape = (r: ApiResponse) => ({ status: r.status, contentType: r.headers.get('content-type'), type: r.body.type, title: r.body.title, detail: r.body.detail, errors: r.body.errors, cookies: r.headers.getSetCookie() });

describe.each(storeKinds())('web sign-in sessions on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // failures here (wrong passwords, revoked cookies) all come from 127.0.0.1: the limit has its own tests below
    h = await startHarness(kind, { authFailures: { max: 1000, windowMs: 60_000 } });
  });
  afterAll(async () => h.close());

  const login = (body: Record<string, unknown>, headers: Record<string, string> = {}) => h.call('POST', '/api/v1/auth/login', { token: null, body, headers });

  function browserOf(r: ApiResponse): Browser {
    expect(r.status).toBe(200);
    const cookies = setCookiesOf(r);
    const session = cookies.find((c) => c.name === 'knot_session');
    const csrf = cookies.find((c) => c.name === 'knot_csrf');
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
    expect(csrf?.value).toBe(r.body.csrfToken);
    return { cookie: `knot_session=${session!.value}; knot_csrf=${csrf!.value}`, secret: session!.value, csrf: csrf!.value, sessionId: r.body.sessionId as string };
  }

  async function signIn(username: string, password = PASSWORD): Promise<Browser> {
    return browserOf(await login({ username, password }));
  }

  /** A request with the browser's cookies (no bearer token); CSRF header and Origin only when given. */
  const withCookie = (b: Browser, method: string, path: string, o: { csrf?: string; origin?: string; body?: unknown } = {}) =>
    h.call(method, path, {
      token: null,
      ...(o.body !== undefined ? { body: o.body } : {}),
      headers: { cookie: b.cookie, ...(o.csrf !== undefined ? { 'x-csrf-token': o.csrf } : {}), ...(o.origin !== undefined ? { origin: o.origin } : {}) },
    });
  /** A state-changing request as the web UI sends it: the CSRF token and this server's Origin. */
  const asPage = (b: Browser, method: string, path: string, body?: unknown) => withCookie(b, method, path, { csrf: b.csrf, origin: h.url, ...(body !== undefined ? { body } : {}) });

  /** A user with a password, set by the admin through the API. */
  async function userWithPassword(username: string, role: 'admin' | 'user' = 'user') {
    const u = await h.user(username, role);
    const set = await h.call('POST', `/api/v1/users/${u.user.id}/password`, { body: { password: PASSWORD } });
    expect(set.status).toBe(204);
    return u;
  }

  describe('login', () => {
    test('a right password → 200 with an HttpOnly SameSite=Strict Path=/ cookie, not Secure on http; the cookie authenticates', async () => {
      const { user } = await userWithPassword('alice');
      const r = await login({ username: 'alice', password: PASSWORD });
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect((r.body.user as { username: string }).username).toBe('alice');
      expect(r.body.isAdmin).toBe(false);
      expect(typeof r.body.csrfToken).toBe('string');
      const cookies = setCookiesOf(r);
      const session = cookies.find((c) => c.name === 'knot_session')!;
      const csrf = cookies.find((c) => c.name === 'knot_csrf')!;
      expect(session.attrs.has('httponly')).toBe(true);
      expect(session.attrs.get('samesite')).toBe('Strict');
      expect(session.attrs.get('path')).toBe('/');
      expect(Number(session.attrs.get('max-age'))).toBeGreaterThan(0);
      expect(session.attrs.has('secure')).toBe(false);
      // the page must read the CSRF cookie to repeat it, so it is not HttpOnly; otherwise the same
      expect(csrf.attrs.has('httponly')).toBe(false);
      expect(csrf.attrs.get('samesite')).toBe('Strict');
      expect(csrf.attrs.get('path')).toBe('/');
      expect(csrf.attrs.has('secure')).toBe(false);

      const b = browserOf(r);
      const me = await withCookie(b, 'GET', '/api/v1/whoami');
      expect(me.status).toBe(200);
      expect((me.body.user as { id: string }).id).toBe(user.id);
      expect(me.body.sessionId).toBe(b.sessionId);
      expect(me.body.tokenId).toBeNull();
    });

    test('a wrong password → 401 problem+json and no cookie; an unknown user and a user without a password get the same answer', async () => {
      await userWithPassword('bob');
      await h.user('nopass');
      const wrong = await login({ username: 'bob', password: 'not the password' });
      expectProblem(wrong, 401, 'unauthorized');
      expect(wrong.headers.getSetCookie()).toEqual([]);
      expect(wrong.body.errors).toEqual([{ path: 'password', message: expect.any(String) }]);
      const unknown = await login({ username: 'nobody-here', password: 'not the password' });
      const noPassword = await login({ username: 'nopass', password: 'not the password' });
      expect(problemShape(unknown)).toEqual(problemShape(wrong));
      expect(problemShape(noPassword)).toEqual(problemShape(wrong));
    });

    test('the username is matched as usernames are stored (lowercase), the same on every store', async () => {
      await userWithPassword('casey');
      browserOf(await login({ username: 'CASEY', password: PASSWORD }));
    });

    test('bad login bodies → 400 naming the field, no cookie', async () => {
      // a union body (username + password, or token): the errors of the shape the caller chose
      const r = await login({ username: 'bob' });
      expectProblem(r, 400, 'validation');
      expect(r.headers.getSetCookie()).toEqual([]);
      expect(r.body.errors).toEqual([{ path: 'password', message: 'is required' }]);
      const neither = await login({});
      expectProblem(neither, 400, 'validation');
      expect((neither.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['password', 'token', 'username']);
      const both = await login({ username: 'bob', password: PASSWORD, token: 'knot_x' });
      expectProblem(both, 400, 'validation');
      expect(JSON.stringify(both.body.errors)).toContain('unknown field');
    });

    test('login by API token opens a token session; a wrong token → 401 and no cookie', async () => {
      const { user, token } = await h.user('tokenlogin');
      const r = await login({ token });
      const b = browserOf(r);
      const me = await withCookie(b, 'GET', '/api/v1/whoami');
      expect((me.body.user as { id: string }).id).toBe(user.id);
      const list = await withCookie(b, 'GET', '/api/v1/sessions');
      expect((list.body.items as { id: string; method: string }[]).find((s) => s.id === b.sessionId)?.method).toBe('token');
      const bad = await login({ token: 'knot_notarealtoken_0000000000000000' });
      expectProblem(bad, 401, 'unauthorized');
      expect(bad.headers.getSetCookie()).toEqual([]);
    });

    test('a deactivated user cannot sign in, and their open session stops working', async () => {
      const { user } = await userWithPassword('leaver');
      const b = await signIn('leaver');
      const off = await h.call('PATCH', `/api/v1/users/${user.id}`, { body: { active: false } });
      expect(off.status).toBe(200);
      expectProblem(await withCookie(b, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
      const again = await login({ username: 'leaver', password: PASSWORD });
      expectProblem(again, 401, 'unauthorized');
      expect(again.headers.getSetCookie()).toEqual([]);
      // no hint that the password was right
      expect(problemShape(again)).toEqual(problemShape(await login({ username: 'leaver', password: 'wrong wrong wrong' })));
      // reactivating does not bring the revoked session back
      expect((await h.call('PATCH', `/api/v1/users/${user.id}`, { body: { active: true } })).status).toBe(200);
      expectProblem(await withCookie(b, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
    });
  });

  describe('CSRF', () => {
    let b: Browser;
    let tokenCount: () => Promise<number>;
    beforeAll(async () => {
      await userWithPassword('csrfuser');
      b = await signIn('csrfuser');
      tokenCount = async () => {
        const r = await withCookie(b, 'GET', '/api/v1/tokens');
        expect(r.status).toBe(200);
        return (r.body.items as unknown[]).length;
      };
    });

    test('a GET with the cookie needs no CSRF token', async () => {
      expect((await withCookie(b, 'GET', '/api/v1/whoami')).status).toBe(200);
      expect((await withCookie(b, 'GET', '/api/v1/sessions')).status).toBe(200);
    });

    test('a state-changing cookie request without X-CSRF-Token → 403 naming CSRF, nothing written', async () => {
      const before = await tokenCount();
      const r = await withCookie(b, 'POST', '/api/v1/tokens', { body: { name: 'nocsrf' }, origin: h.url });
      expectProblem(r, 403, 'forbidden');
      expect(r.body.detail).toMatch(/CSRF/);
      expect(r.body.errors).toEqual([{ path: 'header.X-CSRF-Token', message: expect.any(String) }]);
      expect(await tokenCount()).toBe(before);
      const del = await withCookie(b, 'DELETE', `/api/v1/sessions/${b.sessionId}`);
      expectProblem(del, 403, 'forbidden');
      expect(del.body.detail).toMatch(/CSRF/);
      expect((await withCookie(b, 'GET', '/api/v1/whoami')).status).toBe(200);
      const spaces = await withCookie(b, 'POST', '/api/v1/spaces', { body: { name: 'x', template: 'none' } });
      expectProblem(spaces, 403, 'forbidden');
    });

    test('a wrong CSRF token, or the token of another session of the same user → 403', async () => {
      const before = await tokenCount();
      const wrong = await withCookie(b, 'POST', '/api/v1/tokens', { body: { name: 'wrongcsrf' }, csrf: 'x'.repeat(b.csrf.length), origin: h.url });
      expectProblem(wrong, 403, 'forbidden');
      expect(wrong.body.detail).toMatch(/CSRF/);
      const other = await signIn('csrfuser');
      expect(other.csrf).not.toBe(b.csrf);
      expectProblem(await withCookie(b, 'POST', '/api/v1/tokens', { body: { name: 'othercsrf' }, csrf: other.csrf, origin: h.url }), 403, 'forbidden');
      expect(await tokenCount()).toBe(before);
    });

    test('a cross-site Origin is refused even with the right token', async () => {
      const before = await tokenCount();
      const r = await withCookie(b, 'POST', '/api/v1/tokens', { body: { name: 'evil' }, csrf: b.csrf, origin: EVIL_ORIGIN });
      expectProblem(r, 403, 'forbidden');
      expect(r.body.detail).toMatch(/cross-site/);
      expect(r.body.detail).toContain(EVIL_ORIGIN);
      expect(await tokenCount()).toBe(before);
    });

    test('the right token with this server as Origin succeeds', async () => {
      const before = await tokenCount();
      const r = await asPage(b, 'POST', '/api/v1/tokens', { name: 'from-the-page' });
      expect(r.status).toBe(201);
      expect(typeof r.body.token).toBe('string');
      expect(await tokenCount()).toBe(before + 1);
    });

    test('a bearer-token request needs no CSRF token (and no Origin check)', async () => {
      const { token } = await h.user('bearer');
      const r = await h.call('POST', '/api/v1/tokens', { token, body: { name: 'cli' } });
      expect(r.status).toBe(201);
      const cross = await h.call('POST', '/api/v1/tokens', { token, body: { name: 'cli2' }, headers: { origin: EVIL_ORIGIN } });
      expect(cross.status).toBe(201);
    });
  });

  describe('sessions', () => {
    test("GET /sessions lists the caller's own sessions without secrets; DELETE revokes one; another user's id → 404", async () => {
      await userWithPassword('multi');
      await userWithPassword('stranger');
      const a = await signIn('multi');
      const c = await signIn('multi');
      const s = await signIn('stranger');
      const list = await withCookie(a, 'GET', '/api/v1/sessions');
      expect(list.status).toBe(200);
      const items = list.body.items as Record<string, unknown>[];
      expect(items.map((i) => i.id).sort()).toEqual([a.sessionId, c.sessionId].sort());
      expect(items.filter((i) => i.current).map((i) => i.id)).toEqual([a.sessionId]);
      for (const i of items) expect(Object.keys(i).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'method', 'userAgent']);
      for (const secret of [a.secret, c.secret, hashToken(a.secret), hashToken(c.secret), a.csrf, c.csrf]) expect(list.text).not.toContain(secret);

      // another user's session: 404, and it keeps working
      expectProblem(await asPage(a, 'DELETE', `/api/v1/sessions/${s.sessionId}`), 404, 'not_found');
      expectProblem(await asPage(a, 'DELETE', '/api/v1/sessions/no-such-session'), 404, 'not_found');
      expect((await withCookie(s, 'GET', '/api/v1/whoami')).status).toBe(200);

      const del = await asPage(a, 'DELETE', `/api/v1/sessions/${c.sessionId}`);
      expect(del.status).toBe(204);
      expectProblem(await withCookie(c, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
      expect((await withCookie(a, 'GET', '/api/v1/whoami')).status).toBe(200);
      const after = await withCookie(a, 'GET', '/api/v1/sessions');
      expect((after.body.items as { id: string }[]).map((i) => i.id)).toEqual([a.sessionId]);
    });

    test("an admin may revoke anyone's session", async () => {
      await userWithPassword('revoked-by-admin');
      const b = await signIn('revoked-by-admin');
      expect((await h.call('DELETE', `/api/v1/sessions/${b.sessionId}`)).status).toBe(204);
      expectProblem(await withCookie(b, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
    });

    test('logout needs the CSRF token, then revokes the current session and clears both cookies', async () => {
      await userWithPassword('bye');
      const b = await signIn('bye');
      const other = await signIn('bye');
      expectProblem(await withCookie(b, 'POST', '/api/v1/auth/logout'), 403, 'forbidden');
      expect((await withCookie(b, 'GET', '/api/v1/whoami')).status).toBe(200);
      const out = await asPage(b, 'POST', '/api/v1/auth/logout');
      expect(out.status).toBe(204);
      const cleared = setCookiesOf(out);
      expect(cleared.map((c) => [c.name, c.value, c.attrs.get('max-age')]).sort()).toEqual([
        ['knot_csrf', '', '0'],
        ['knot_session', '', '0'],
      ]);
      expectProblem(await withCookie(b, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
      // only that session: the user's other one still works
      expect((await withCookie(other, 'GET', '/api/v1/whoami')).status).toBe(200);
    });
  });

  describe('passwords', () => {
    test('policy errors → 400 naming the field, nothing changed', async () => {
      const { user } = await userWithPassword('policy');
      const short = await h.call('POST', `/api/v1/users/${user.id}/password`, { body: { password: 'short' } });
      expectProblem(short, 400, 'validation');
      expect((short.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['password']);
      const long = await h.call('POST', `/api/v1/users/${user.id}/password`, { body: { password: 'x'.repeat(257) } });
      expectProblem(long, 400, 'validation');
      expect((long.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['password']);
      const missing = await h.call('POST', `/api/v1/users/${user.id}/password`, { body: {} });
      expectProblem(missing, 400, 'validation');
      expect((missing.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['password']);
      // the old password still signs in
      await signIn('policy');
    });

    test('a user changes their own password only with the right current one; the other sessions are revoked, this one kept', async () => {
      const { user } = await userWithPassword('changer');
      const here = await signIn('changer');
      const elsewhere = await signIn('changer');
      const path = `/api/v1/users/${user.id}/password`;
      const none = await asPage(here, 'POST', path, { password: 'a brand new password' });
      expectProblem(none, 400, 'validation');
      expect((none.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['currentPassword']);
      const wrong = await asPage(here, 'POST', path, { password: 'a brand new password', currentPassword: 'not it at all' });
      expectProblem(wrong, 400, 'validation');
      expect((wrong.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['currentPassword']);
      // refused changes revoke nothing
      expect((await withCookie(elsewhere, 'GET', '/api/v1/whoami')).status).toBe(200);
      await signIn('changer');

      const ok = await asPage(here, 'POST', path, { password: 'a brand new password', currentPassword: PASSWORD });
      expect(ok.status).toBe(204);
      expect((await withCookie(here, 'GET', '/api/v1/whoami')).status).toBe(200);
      expectProblem(await withCookie(elsewhere, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
      expectProblem(await login({ username: 'changer', password: PASSWORD }), 401, 'unauthorized');
      await signIn('changer', 'a brand new password');
    });

    test('an admin changing their own password must give the current one too (a stolen session is not enough)', async () => {
      const { user } = await userWithPassword('boss', 'admin');
      const b = await signIn('boss');
      const path = `/api/v1/users/${user.id}/password`;
      const none = await asPage(b, 'POST', path, { password: 'taken over by a thief' });
      expectProblem(none, 400, 'validation');
      expect((none.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['currentPassword']);
      await signIn('boss');
      expect((await asPage(b, 'POST', path, { password: 'changed by the boss', currentPassword: PASSWORD })).status).toBe(204);
      await signIn('boss', 'changed by the boss');
    });

    test("a user cannot set another user's password", async () => {
      const { user: victim } = await userWithPassword('victim');
      await userWithPassword('mallory');
      const m = await signIn('mallory');
      expectProblem(await asPage(m, 'POST', `/api/v1/users/${victim.id}/password`, { password: 'owned by mallory', currentPassword: PASSWORD }), 403, 'forbidden');
      await signIn('victim');
      expectProblem(await login({ username: 'victim', password: 'owned by mallory' }), 401, 'unauthorized');
    });

    test("an admin setting a user's password revokes all that user's sessions", async () => {
      const { user } = await userWithPassword('reset');
      const one = await signIn('reset');
      const two = await signIn('reset');
      expect((await h.call('POST', `/api/v1/users/${user.id}/password`, { body: { password: 'reset by the admin' } })).status).toBe(204);
      for (const b of [one, two]) expectProblem(await withCookie(b, 'GET', '/api/v1/whoami'), 401, 'unauthorized');
      expectProblem(await login({ username: 'reset', password: PASSWORD }), 401, 'unauthorized');
      await signIn('reset', 'reset by the admin');
    });
  });
});

describe.each(storeKinds())('web sign-in behind https and a tight failure limit on %s', (kind) => {
  const MAX = 3;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind, { config: { KNOT_SERVER_URL: 'https://knot.example.test', KNOT_SERVER_TRUST_PROXY: '1' }, authFailures: { max: MAX, windowMs: 600_000 } });
  });
  afterAll(async () => h.close());

  const login = (body: Record<string, unknown>, from: string) => h.call('POST', '/api/v1/auth/login', { token: null, body, headers: { 'x-forwarded-for': from } });

  async function userWithPassword(username: string) {
    const u = await h.user(username);
    expect((await h.call('POST', `/api/v1/users/${u.user.id}/password`, { body: { password: PASSWORD } })).status).toBe(204);
    return u;
  }

  test('with an https server.url both cookies are Secure, also when logout clears them', async () => {
    await userWithPassword('secure');
    const r = await login({ username: 'secure', password: PASSWORD }, '198.51.100.1');
    expect(r.status).toBe(200);
    const cookies = setCookiesOf(r);
    expect(cookies.map((c) => c.name).sort()).toEqual(['knot_csrf', 'knot_session']);
    for (const c of cookies) {
      expect(c.attrs.has('secure')).toBe(true);
      expect(c.attrs.get('samesite')).toBe('Strict');
    }
    const session = cookies.find((c) => c.name === 'knot_session')!;
    const out = await h.call('POST', '/api/v1/auth/logout', {
      token: null,
      headers: { cookie: `knot_session=${session.value}`, 'x-csrf-token': r.body.csrfToken as string, origin: 'https://knot.example.test' },
    });
    expect(out.status).toBe(204);
    for (const c of setCookiesOf(out)) expect(c.attrs.has('secure')).toBe(true);
  });

  test('wrong passwords for one username from many addresses get 429, and the right password still signs in', async () => {
    await userWithPassword('target');
    const statuses: number[] = [];
    for (let i = 0; i < MAX + 2; i++) statuses.push((await login({ username: 'target', password: `guess number ${i}` }, `203.0.113.${10 + i}`)).status);
    // the attempt that reaches the limit is still a 401; later failures are 429
    expect(statuses).toEqual([...Array(MAX).fill(401), 429, 429]);
    const limited = await login({ username: 'TARGET', password: 'case does not dodge it' }, '203.0.113.99');
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.getSetCookie()).toEqual([]);

    const ok = await login({ username: 'target', password: PASSWORD }, '203.0.113.100');
    expect(ok.status).toBe(200);
    expect(setCookiesOf(ok).map((c) => c.name).sort()).toEqual(['knot_csrf', 'knot_session']);
    // another username from a fresh address is not limited by target's failures
    await userWithPassword('bystander');
    expectProblem(await login({ username: 'bystander', password: 'wrong once' }, '203.0.113.101'), 401, 'unauthorized');
  });

  test('wrong passwords from one address get 429, and a right password from that address still signs in', async () => {
    await userWithPassword('sameaddr');
    const from = '192.0.2.55';
    const statuses: number[] = [];
    for (let i = 0; i < MAX + 1; i++) statuses.push((await login({ username: `spray${i}`, password: 'wrong password' }, from)).status);
    expect(statuses).toEqual([...Array(MAX).fill(401), 429]);
    expect((await login({ username: 'sameaddr', password: PASSWORD }, from)).status).toBe(200);
    expect((await login({ username: 'sameaddr', password: 'still wrong' }, from)).status).toBe(429);
  });
});
