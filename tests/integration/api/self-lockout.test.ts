/**
 * No self-lockout: an admin cannot deactivate, demote or delete their own account (409
 * `self_lockout`, "ask another admin", the fields named, nothing changed) however many admins
 * there are; another admin may do each of these to them; revoking the token or the session you
 * are using stays allowed. The sole admin is refused too, so knot always keeps an admin (the
 * last-admin guard's purpose: an acting admin is itself an active admin, so another admin can never
 * remove the last one). The refusal is decided in the route before anything is written, so one
 * store (SQLite) is enough here.
 */
import type { Harness, ApiResponse } from './harness';
import { closeTemporal, startHarness, storeSnapshot } from './harness';

afterAll(closeTemporal);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('sqlite');
});
afterAll(async () => h.close());

const expectLockout = (r: ApiResponse, fields: string[]) => {
  expect(r.status).toBe(409);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.type).toBe('https://knot.dev/problems/self_lockout');
  expect(r.body.detail).toMatch(/your own account: ask another admin$/);
  expect(((r.body.errors ?? []) as { path: string }[]).map((e) => e.path)).toEqual(fields);
};

const whoami = (token: string) => h.call('GET', '/api/v1/whoami', { token });

/** the bootstrap admin, alone (the first test runs before any other user exists), or a new admin beside others */
async function adminWith(others: number): Promise<{ user: { id: string; username: string }; token: string }> {
  if (others === 0) {
    const users = (await h.call('GET', '/api/v1/users')).body.items as { id: string; username: string; role: string }[];
    expect(users.filter((u) => u.role === 'admin')).toHaveLength(1);
    return { user: users.find((u) => u.username === 'admin')!, token: h.adminToken };
  }
  const me = await h.user(`self-${others}`, 'admin');
  for (let i = 0; i < others; i++) await h.user(`other-${others}-${i}`, 'admin');
  return me;
}

test.each([
  ['the only admin', 0],
  ['one of three admins', 2],
])('%s cannot deactivate, demote or delete their own account, by id or by name', async (_what, others) => {
  const me = await adminWith(others);
  const before = await storeSnapshot(h.store);
  const as = { token: me.token };
  for (const ref of [me.user.id, me.user.username]) {
    expectLockout(await h.call('PATCH', `/api/v1/users/${ref}`, { ...as, body: { active: false } }), ['active']);
    expectLockout(await h.call('PATCH', `/api/v1/users/${ref}`, { ...as, body: { role: 'user' } }), ['role']);
    expectLockout(await h.call('PATCH', `/api/v1/users/${ref}`, { ...as, body: { active: false, role: 'user', email: 'moved@example.com' } }), ['active', 'role']);
    expectLockout(await h.call('DELETE', `/api/v1/users/${ref}`, as), []);
  }
  expect(await storeSnapshot(h.store)).toEqual(before);
  expect((await whoami(me.token)).body).toMatchObject({ user: { username: me.user.username, role: 'admin', active: true } });
  // what does not lock anyone out still works on your own account
  const ok = await h.call('PATCH', `/api/v1/users/${me.user.id}`, { ...as, body: { email: 'me@example.com', role: 'admin', active: true } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ email: 'me@example.com', role: 'admin', active: true });
});

test('another admin may demote, deactivate and delete you', async () => {
  const you = await h.user('you', 'admin');
  const them = await h.user('them', 'admin');
  const demoted = await h.call('PATCH', `/api/v1/users/${you.user.id}`, { token: them.token, body: { role: 'user' } });
  expect(demoted.status).toBe(200);
  expect(demoted.body).toMatchObject({ role: 'user', active: true });
  expect((await h.call('GET', '/api/v1/users', { token: you.token })).status).toBe(403);

  const deactivated = await h.call('PATCH', `/api/v1/users/${you.user.id}`, { token: them.token, body: { active: false } });
  expect(deactivated.status).toBe(200);
  expect(deactivated.body).toMatchObject({ active: false });
  expect((await whoami(you.token)).status).toBe(401);

  expect((await h.call('DELETE', `/api/v1/users/${you.user.id}`, { token: them.token })).status).toBe(204);
  expect((await h.call('GET', `/api/v1/users/${you.user.id}`, { token: them.token })).status).toBe(404);
});

test('an admin demoted by another is no longer an admin, and still cannot deactivate an admin who is', async () => {
  const a = await h.user('demote-a', 'admin');
  const b = await h.user('demote-b', 'admin');
  expect((await h.call('PATCH', `/api/v1/users/${a.user.id}`, { token: b.token, body: { role: 'user' } })).status).toBe(200);
  expect((await h.call('PATCH', `/api/v1/users/${b.user.id}`, { token: a.token, body: { active: false } })).status).toBe(403);
  expect((await whoami(b.token)).body).toMatchObject({ user: { role: 'admin', active: true } });
});

test('revoking the token or the session you are using yourself stays allowed', async () => {
  const me = await h.user('revoker', 'admin');
  const tokens = await h.call('GET', '/api/v1/tokens', { token: me.token });
  const [own] = tokens.body.items as { id: string }[];
  expect((await h.call('DELETE', `/api/v1/tokens/${own!.id}`, { token: me.token })).status).toBe(204);
  expect((await whoami(me.token)).status).toBe(401);

  const other = await h.call('POST', `/api/v1/users/${me.user.id}/tokens`, { body: { name: 'again' } });
  expect(other.status).toBe(201);
  const login = await h.call('POST', '/api/v1/auth/login', { token: null, body: { token: other.body.token } });
  expect(login.status).toBe(200);
  const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const cookie = { cookie: cookies.join('; '), 'x-csrf-token': login.body.csrfToken as string, origin: h.url };
  const revoked = await h.call('DELETE', `/api/v1/sessions/${login.body.sessionId as string}`, { token: null, headers: cookie });
  expect(revoked.status).toBe(204);
  expect((await h.call('GET', '/api/v1/whoami', { token: null, headers: { cookie: cookie.cookie } })).status).toBe(401);
});
