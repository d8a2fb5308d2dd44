/**
 * The store conformance suite: every repository operation of store/store.ts, with the same
 * expectations on every driver (SQLite, MariaDB, Redis). One fresh store per driver; every test
 * makes its own records (unique names and ids), so the tests do not depend on each other's data.
 *
 * Lists that span the whole store (spaces, running spaces, overdue operations, deleted spaces,
 * events, audit) are checked either with records in a time window no other test uses, or by paging
 * through everything and checking this test's records inside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorType, isKnotError, type KnotError } from '../../core/errors';
import { newId } from '../../core/names';
import {
  DEFAULT_EVENT_RETENTION,
  type ApiToken,
  type NewAuditEntry,
  type NewGroup,
  type NewSession,
  type NewSpace,
  type NewSshKey,
  type NewTemplateVersion,
  type NewToken,
  type NewUser,
  type Operation,
  type RunningSpace,
  type Space,
  type SpaceFilter,
  type SpacePhase,
  type StoredEvent,
  type TemplateMeta,
  type TemplateRecord,
  type User,
} from '../../store/model';
import type { Repositories, Store } from '../../store/store';
import { createTestStore, storeKinds, type TestStore } from '../support/db';

// ---------------------------------------------------------------- helpers

/** The base time of the suite; tests add offsets. */
const T = Date.parse('2025-03-01T00:00:00Z');

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A name no other test uses: a letter, then random hex (valid for every name kind). */
const unique = (prefix: string) => `${prefix}${hex(5)}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(e);
}

/** What the promise rejected with; fails the test when it resolved. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected the call to fail, it answered ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
}

function expectKnotError(e: unknown, type: string): asserts e is KnotError {
  if (!isKnotError(e)) throw new Error(`expected a KnotError '${type}', got: ${messageOf(e)}`);
  expect(e.type).toBe(type);
}

/** The fields a KnotError names: its field errors' paths (the API shows them at the field). */
function fieldsNamed(e: KnotError): string[] {
  return e.errors.map((f) => f.path);
}

/** The call fails with a conflict KnotError (naming `field` when given). */
async function expectConflict(p: Promise<unknown>, field?: string): Promise<KnotError> {
  const e = await rejection(p);
  expectKnotError(e, ErrorType.Conflict);
  if (field !== undefined) expect(fieldsNamed(e)).toContain(field);
  return e;
}

/** `n` racing calls: exactly one succeeds, every other one is a conflict; the winner's index. */
async function exactlyOneWins<T>(n: number, call: (i: number) => Promise<T>, field?: string): Promise<number> {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => call(i)));
  const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const notConflicts = failures.filter((e) => !isKnotError(e) || e.type !== ErrorType.Conflict).map(messageOf);
  expect(notConflicts).toEqual([]);
  expect(winners).toHaveLength(1);
  if (field !== undefined) for (const e of failures) expect(fieldsNamed(e as KnotError)).toContain(field);
  return winners[0] as number;
}

const byId = <R extends { id: string }>(a: R, b: R) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** (createdAt, id) order, as the space list pages */
const byCreated = (a: Space, b: Space) => a.createdAt - b.createdAt || byId(a, b);
const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);

// ---- fixtures (they take Repositories, so they work inside transactions too)

function newUser(over: Partial<NewUser> = {}): NewUser {
  return { id: newId(T), username: unique('u'), email: 'someone@example.com', timezone: 'Europe/Berlin', role: 'user', active: true, ...over };
}

function newToken(userId: string, over: Partial<NewToken> = {}): NewToken & { secret: string } {
  const secret = `knot_${hex(24)}`;
  return { id: newId(T), userId, name: unique('token'), tokenHash: sha256(secret), prefix: secret.slice(0, 9), expiresAt: null, secret, ...over };
}

function newSession(userId: string, expiresAt: number, over: Partial<NewSession> = {}): NewSession & { secret: string } {
  const secret = hex(32);
  return { id: newId(T), userId, sessionHash: sha256(secret), csrfToken: hex(16), method: 'password', userAgent: 'jest', ip: '127.0.0.1', expiresAt, secret, ...over };
}

function newSshKey(userId: string, over: Partial<NewSshKey> = {}): NewSshKey {
  const blob = randomBytes(51).toString('base64');
  return { id: newId(T), userId, name: unique('key'), type: 'ssh-ed25519', publicKey: `ssh-ed25519 ${blob}`, fingerprint: `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`, ...over };
}

function newGroup(memberIds: string[] = [], over: Partial<NewGroup> = {}): NewGroup {
  return { id: newId(T), name: unique('g'), description: 'a group', memberIds, ...over };
}

function meta(name: string, over: Partial<TemplateMeta> = {}): TemplateMeta {
  return { name, displayName: `Template ${name}`, description: 'for tests', type: 'nomad', groups: ['devs'], ...over };
}

function version(v: string, content: Record<string, unknown> = { job: `job ${v}` }, createdBy: string | null = null): NewTemplateVersion<Record<string, unknown>> {
  return { versionId: newId(T), version: v, contentHash: sha256(JSON.stringify(content)), content, createdBy };
}

async function insertTemplate(r: Repositories, now = T, name = unique('t')): Promise<TemplateRecord> {
  return r.templates.insert(newId(now), meta(name), version('1.0.0'), now);
}

function newSpace(ownerId: string, templateId: string, over: Partial<NewSpace> = {}): NewSpace {
  return { id: newId(T), name: unique('s'), ownerId, templateId, templateRef: '1.0.0', parameters: { size: 10, image: 'debian', gpu: false }, shell: 'bash', agentUrl: null, ...over };
}

function newOperation(spaceId: string, over: Partial<Parameters<Repositories['operations']['insert']>[0]> = {}) {
  const id = newId(T);
  return { id, spaceId, type: 'start' as const, requestedBy: 'someone', workflowId: `space-${spaceId}-${id}`, deadlineAt: null, ...over };
}

function auditEntry(over: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return { at: T, actorId: null, actor: unique('actor'), action: 'space.create', resourceType: 'space', resourceId: newId(T), outcome: 'ok', detail: {}, ...over };
}

// ---------------------------------------------------------------- the suite

describe.each(storeKinds())('store conformance on %s', (kind) => {
  let t: TestStore;
  let store: Store;

  beforeAll(async () => {
    t = await createTestStore(kind);
    store = t.store;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** a user and a template for the spaces of one test */
  async function ownerAndTemplate(): Promise<{ owner: User; template: TemplateRecord }> {
    return { owner: await store.users.insert(newUser(), T), template: await insertTemplate(store) };
  }

  /** a live space (phase and the rest set by `patch`) */
  async function space(ownerId: string, templateId: string, now = T, over: Partial<NewSpace> = {}, patch: Parameters<Repositories['spaces']['update']>[1] = {}): Promise<Space> {
    const s = await store.spaces.insert(newSpace(ownerId, templateId, over), now);
    if (Object.keys(patch).length === 0) return s;
    await store.spaces.update(s.id, patch, now);
    return (await store.spaces.get(s.id)) as Space;
  }

  /** a deleted space */
  async function deletedSpace(ownerId: string, templateId: string, deletedAt: number): Promise<Space> {
    const s = await store.spaces.insert(newSpace(ownerId, templateId), Math.min(deletedAt, T));
    await store.spaces.markDeleted(s.id, deletedAt);
    return (await store.spaces.get(s.id)) as Space;
  }

  /** every live space matching the filter, page by page */
  async function listAll(f: Omit<SpaceFilter, 'limit' | 'after'>, pageSize: number): Promise<{ all: Space[]; pages: number[] }> {
    const all: Space[] = [];
    const pages: number[] = [];
    let after: SpaceFilter['after'];
    for (;;) {
      const page = await store.spaces.list({ ...f, limit: pageSize, ...(after ? { after } : {}) });
      pages.push(page.length);
      all.push(...page);
      const last = page[page.length - 1];
      if (!last) return { all, pages };
      after = { createdAt: last.createdAt, id: last.id };
      if (pages.length > 10_000) throw new Error('the space list does not end');
    }
  }

  // ================================================================ store
  describe('store', () => {
    it('migrate() on a migrated store applies nothing', async () => {
      expect(await store.migrate()).toEqual([]);
    });

    it('ping() answers true', async () => {
      expect(await store.ping()).toBe(true);
    });

    it('stores only the hash of a token, never the token', async () => {
      const u = await store.users.insert(newUser(), T);
      const token = newToken(u.id);
      await store.tokens.insert(token, T);
      const dump = await t.rawDump();
      expect(dump).toContain(token.tokenHash);
      expect(dump).not.toContain(token.secret);
    });

    it('stores only the hash of a session secret, never the secret', async () => {
      const u = await store.users.insert(newUser(), T);
      const session = newSession(u.id, T + 3_600_000);
      await store.sessions.insert(session, T);
      const dump = await t.rawDump();
      expect(dump).toContain(session.sessionHash);
      expect(dump).not.toContain(session.secret);
    });
  });

  // ================================================================ users
  describe('users', () => {
    it('insert answers the record, and get and getByUsername read it back', async () => {
      const nu = newUser({ role: 'admin', email: 'ada@example.com', timezone: 'UTC' });
      const u = await store.users.insert(nu, T + 5);
      expect(u).toEqual({ id: nu.id, username: nu.username, email: 'ada@example.com', timezone: 'UTC', role: 'admin', active: true, hasPassword: false, createdAt: T + 5, updatedAt: T + 5 });
      expect(await store.users.get(nu.id)).toEqual(u);
      expect(await store.users.getByUsername(nu.username)).toEqual(u);
      expect(await store.users.get(newId(T))).toBeNull();
      expect(await store.users.getByUsername(unique('nobody'))).toBeNull();
    });

    it('getByIds and getByUsernames answer the users that exist', async () => {
      const a = await store.users.insert(newUser(), T);
      const b = await store.users.insert(newUser(), T);
      expect((await store.users.getByIds([a.id, b.id, newId(T)])).sort(byId)).toEqual([a, b].sort(byId));
      expect(await store.users.getByIds([])).toEqual([]);
      const byName = await store.users.getByUsernames([b.username, a.username, unique('nobody')]);
      expect(byName.sort(byId)).toEqual([a, b].sort(byId));
      expect(await store.users.getByUsernames([])).toEqual([]);
    });

    it('list is sorted by username and count counts every user', async () => {
      const before = await store.users.count();
      const z = await store.users.insert(newUser({ username: `zz${hex(4)}` }), T);
      const a = await store.users.insert(newUser({ username: `aa${hex(4)}` }), T);
      const list = await store.users.list();
      const names = list.map((u) => u.username);
      expect(names).toEqual([...names].sort());
      expect(list).toContainEqual(z);
      expect(list).toContainEqual(a);
      expect(await store.users.count()).toBe(before + 2);
      expect(await store.users.count()).toBe(list.length);
    });

    it('countActiveAdmins counts only active admins', async () => {
      const before = await store.users.countActiveAdmins();
      await store.users.insert(newUser({ role: 'admin', active: true }), T);
      const inactive = await store.users.insert(newUser({ role: 'admin', active: false }), T);
      await store.users.insert(newUser({ role: 'user', active: true }), T);
      expect(await store.users.countActiveAdmins()).toBe(before + 1);
      await store.users.update(inactive.id, { active: true }, T + 1);
      expect(await store.users.countActiveAdmins()).toBe(before + 2);
      await store.users.update(inactive.id, { role: 'user' }, T + 2);
      expect(await store.users.countActiveAdmins()).toBe(before + 1);
    });

    it('update changes the patched fields and updatedAt, nothing else', async () => {
      const u = await store.users.insert(newUser(), T);
      await store.users.update(u.id, { email: 'new@example.com' }, T + 10);
      expect(await store.users.get(u.id)).toEqual({ ...u, email: 'new@example.com', updatedAt: T + 10 });
      await store.users.update(u.id, { timezone: 'Asia/Tokyo', role: 'admin', active: false }, T + 20);
      expect(await store.users.get(u.id)).toEqual({ ...u, email: 'new@example.com', timezone: 'Asia/Tokyo', role: 'admin', active: false, updatedAt: T + 20 });
    });

    it('update of a missing user creates nothing', async () => {
      const id = newId(T);
      await store.users.update(id, { email: 'x@example.com' }, T);
      expect(await store.users.get(id)).toBeNull();
    });

    it('password hash: set, read, clear, and withPassword', async () => {
      const a = await store.users.insert(newUser(), T);
      const b = await store.users.insert(newUser(), T);
      expect(await store.users.getPasswordHash(a.id)).toBeNull();
      expect(await store.users.withPassword([a.id, b.id])).toEqual(new Set());

      const phc = `$argon2id$v=19$m=19456,t=2,p=1$${hex(8)}$${hex(16)}`;
      await store.users.setPasswordHash(a.id, phc, T + 7);
      expect(await store.users.getPasswordHash(a.id)).toBe(phc);
      expect(await store.users.get(a.id)).toEqual({ ...a, hasPassword: true, updatedAt: T + 7 });
      expect(await store.users.withPassword([a.id, b.id, newId(T)])).toEqual(new Set([a.id]));
      expect(await store.users.withPassword([])).toEqual(new Set());

      await store.users.setPasswordHash(a.id, null, T + 8);
      expect(await store.users.getPasswordHash(a.id)).toBeNull();
      expect((await store.users.get(a.id))?.hasPassword).toBe(false);
      expect(await store.users.withPassword([a.id, b.id])).toEqual(new Set());
      expect(await store.users.getPasswordHash(newId(T))).toBeNull();
    });

    it("delete removes the user with its tokens, sessions and group memberships", async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const token = newToken(u.id);
      await store.tokens.insert(token, T);
      const session = newSession(u.id, T + 3_600_000);
      await store.sessions.insert(session, T);
      const g = await store.groups.insert(newGroup([u.id, other.id]), T);

      await store.users.delete(u.id);

      expect(await store.users.get(u.id)).toBeNull();
      expect(await store.users.getByUsername(u.username)).toBeNull();
      expect(await store.tokens.get(token.id)).toBeNull();
      expect(await store.tokens.findUsableByHash(token.tokenHash, T + 1)).toBeNull();
      expect(await store.tokens.listOfUser(u.id)).toEqual([]);
      expect(await store.sessions.get(session.id)).toBeNull();
      expect(await store.sessions.findUsableByHash(session.sessionHash, T + 1)).toBeNull();
      expect(await store.sessions.listActiveOfUser(u.id, T + 1)).toEqual([]);
      expect((await store.groups.get(g.id))?.memberIds).toEqual([other.id]);
      expect(await store.groups.namesOfUser(u.id)).toEqual([]);
      expect(await store.groups.namesOfUser(other.id)).toEqual([g.name]);
      // the name is free again
      const again = await store.users.insert(newUser({ username: u.username }), T + 1);
      expect(await store.users.getByUsername(u.username)).toEqual(again);
    });

    it("a taken username is a conflict naming 'username'", async () => {
      const u = await store.users.insert(newUser(), T);
      await expectConflict(store.users.insert(newUser({ username: u.username }), T + 1), 'username');
      expect(await store.users.getByUsername(u.username)).toEqual(u);
      expect((await store.users.list()).filter((x) => x.username === u.username)).toHaveLength(1);
    });
  });

  // ================================================================ groups
  describe('groups', () => {
    it('insert answers the group with its members sorted; get and getByName read it back', async () => {
      const [a, b] = [await store.users.insert(newUser(), T), await store.users.insert(newUser(), T)];
      const ng = newGroup([a.id, b.id].sort().reverse());
      const g = await store.groups.insert(ng, T + 3);
      expect(g).toEqual({ id: ng.id, name: ng.name, description: 'a group', memberIds: [a.id, b.id].sort(), createdAt: T + 3, updatedAt: T + 3 });
      expect(await store.groups.get(g.id)).toEqual(g);
      expect(await store.groups.getByName(g.name)).toEqual(g);
      expect(await store.groups.get(newId(T))).toBeNull();
      expect(await store.groups.getByName(unique('nogroup'))).toBeNull();
    });

    it('getByNames answers the groups that exist', async () => {
      const g1 = await store.groups.insert(newGroup(), T);
      const g2 = await store.groups.insert(newGroup(), T);
      expect((await store.groups.getByNames([g2.name, g1.name, unique('nogroup')])).sort(byId)).toEqual([g1, g2].sort(byId));
      expect(await store.groups.getByNames([])).toEqual([]);
    });

    it('list is sorted by name', async () => {
      const g1 = await store.groups.insert(newGroup([], { name: `zz${hex(4)}` }), T);
      const g2 = await store.groups.insert(newGroup([], { name: `aa${hex(4)}` }), T);
      const list = await store.groups.list();
      const names = list.map((g) => g.name);
      expect(names).toEqual([...names].sort());
      expect(list).toContainEqual(g1);
      expect(list).toContainEqual(g2);
    });

    it('namesOfUser answers the names of the groups of a user, sorted', async () => {
      const u = await store.users.insert(newUser(), T);
      const suffix = hex(4);
      await store.groups.insert(newGroup([u.id], { name: `g-b-${suffix}` }), T);
      await store.groups.insert(newGroup([], { name: `g-c-${suffix}` }), T);
      await store.groups.insert(newGroup([u.id], { name: `g-a-${suffix}` }), T);
      expect(await store.groups.namesOfUser(u.id)).toEqual([`g-a-${suffix}`, `g-b-${suffix}`]);
      expect(await store.groups.namesOfUser(newId(T))).toEqual([]);
    });

    it('update changes the description and replaces the members', async () => {
      const [a, b, c] = [await store.users.insert(newUser(), T), await store.users.insert(newUser(), T), await store.users.insert(newUser(), T)];
      const g = await store.groups.insert(newGroup([a.id, b.id]), T);
      await store.groups.update(g.id, { description: 'changed' }, T + 1);
      expect(await store.groups.get(g.id)).toEqual({ ...g, description: 'changed', updatedAt: T + 1 });
      await store.groups.update(g.id, { memberIds: [c.id, b.id] }, T + 2);
      expect(await store.groups.get(g.id)).toEqual({ ...g, description: 'changed', memberIds: [b.id, c.id].sort(), updatedAt: T + 2 });
      expect(await store.groups.namesOfUser(a.id)).toEqual([]);
      expect(await store.groups.namesOfUser(c.id)).toEqual([g.name]);
      await store.groups.update(g.id, { memberIds: [] }, T + 3);
      expect((await store.groups.get(g.id))?.memberIds).toEqual([]);
      expect(await store.groups.namesOfUser(b.id)).toEqual([]);
    });

    it('delete removes the group and its memberships and frees the name', async () => {
      const u = await store.users.insert(newUser(), T);
      const g = await store.groups.insert(newGroup([u.id]), T);
      await store.groups.delete(g.id);
      expect(await store.groups.get(g.id)).toBeNull();
      expect(await store.groups.getByName(g.name)).toBeNull();
      expect(ids(await store.groups.list())).not.toContain(g.id);
      expect(await store.groups.namesOfUser(u.id)).toEqual([]);
      const again = await store.groups.insert(newGroup([], { name: g.name }), T + 1);
      expect(await store.groups.getByName(g.name)).toEqual(again);
    });

    it("a taken group name is a conflict naming 'name'", async () => {
      const g = await store.groups.insert(newGroup(), T);
      await expectConflict(store.groups.insert(newGroup([], { name: g.name }), T + 1), 'name');
      expect(await store.groups.getByName(g.name)).toEqual(g);
    });
  });

  // ================================================================ tokens
  describe('tokens', () => {
    it('insert answers the record without its hash; get reads it back', async () => {
      const u = await store.users.insert(newUser(), T);
      const nt = newToken(u.id, { expiresAt: T + 1000 });
      const tok = await store.tokens.insert(nt, T + 1);
      expect(tok).toEqual({ id: nt.id, userId: u.id, name: nt.name, prefix: nt.prefix, expiresAt: T + 1000, revokedAt: null, lastUsedAt: null, createdAt: T + 1 });
      expect(await store.tokens.get(nt.id)).toEqual(tok);
      expect(await store.tokens.get(newId(T))).toBeNull();
    });

    it('findUsableByHash finds a token until it expires or is revoked', async () => {
      const u = await store.users.insert(newUser(), T);
      const expiring = newToken(u.id, { expiresAt: T + 1000 });
      const forever = newToken(u.id);
      const e = await store.tokens.insert(expiring, T);
      const f = await store.tokens.insert(forever, T);
      expect(await store.tokens.findUsableByHash(expiring.tokenHash, T + 999)).toEqual(e);
      expect(await store.tokens.findUsableByHash(expiring.tokenHash, T + 1000)).toBeNull();
      expect(await store.tokens.findUsableByHash(expiring.tokenHash, T + 5000)).toBeNull();
      expect(await store.tokens.findUsableByHash(forever.tokenHash, T + 10 ** 11)).toEqual(f);
      expect(await store.tokens.findUsableByHash(sha256(hex(8)), T)).toBeNull();
      await store.tokens.revoke(f.id, T + 5);
      expect(await store.tokens.findUsableByHash(forever.tokenHash, T + 6)).toBeNull();
    });

    it('listOfUser answers every token of the user, newest first, revoked ones included', async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const t1 = await store.tokens.insert(newToken(u.id), T + 1);
      const t2 = await store.tokens.insert(newToken(u.id), T + 2);
      const t3a = await store.tokens.insert(newToken(u.id), T + 3);
      const t3b = await store.tokens.insert(newToken(u.id), T + 3);
      await store.tokens.insert(newToken(other.id), T + 4);
      await store.tokens.revoke(t2.id, T + 10);
      const [newer, older] = [t3a, t3b].sort(byId).reverse() as [ApiToken, ApiToken];
      expect(await store.tokens.listOfUser(u.id)).toEqual([newer, older, { ...t2, revokedAt: T + 10 }, t1]);
      expect(await store.tokens.listOfUser(newId(T))).toEqual([]);
    });

    it('revoke sets revokedAt once', async () => {
      const u = await store.users.insert(newUser(), T);
      const tok = await store.tokens.insert(newToken(u.id), T);
      await store.tokens.revoke(tok.id, T + 10);
      expect(await store.tokens.get(tok.id)).toEqual({ ...tok, revokedAt: T + 10 });
      await store.tokens.revoke(tok.id, T + 20);
      expect((await store.tokens.get(tok.id))?.revokedAt).toBe(T + 10);
    });

    it("revokeAllOfUser revokes the user's unrevoked tokens and answers how many", async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const a = await store.tokens.insert(newToken(u.id), T);
      const b = await store.tokens.insert(newToken(u.id), T);
      const c = await store.tokens.insert(newToken(u.id), T);
      const o = await store.tokens.insert(newToken(other.id), T);
      await store.tokens.revoke(c.id, T + 1);
      expect(await store.tokens.revokeAllOfUser(u.id, T + 5)).toBe(2);
      expect((await store.tokens.get(a.id))?.revokedAt).toBe(T + 5);
      expect((await store.tokens.get(b.id))?.revokedAt).toBe(T + 5);
      expect((await store.tokens.get(c.id))?.revokedAt).toBe(T + 1);
      expect(await store.tokens.get(o.id)).toEqual(o);
      expect(await store.tokens.revokeAllOfUser(u.id, T + 6)).toBe(0);
    });

    it('touch records the use only when the last one is older than the granularity', async () => {
      const u = await store.users.insert(newUser(), T);
      const tok = await store.tokens.insert(newToken(u.id), T);
      await store.tokens.touch(tok.id, T + 100);
      expect((await store.tokens.get(tok.id))?.lastUsedAt).toBe(T + 100);
      await store.tokens.touch(tok.id, T + 100 + 30_000);
      expect((await store.tokens.get(tok.id))?.lastUsedAt).toBe(T + 100);
      // the default granularity is a minute: exactly a minute later is not yet older
      await store.tokens.touch(tok.id, T + 100 + 60_000);
      expect((await store.tokens.get(tok.id))?.lastUsedAt).toBe(T + 100);
      await store.tokens.touch(tok.id, T + 100 + 60_001);
      expect((await store.tokens.get(tok.id))?.lastUsedAt).toBe(T + 60_101);
      await store.tokens.touch(tok.id, T + 60_101 + 500, 1000);
      expect((await store.tokens.get(tok.id))?.lastUsedAt).toBe(T + 60_101);
      await store.tokens.touch(tok.id, T + 60_101 + 1500, 1000);
      expect((await store.tokens.get(tok.id))?.lastUsedAt).toBe(T + 61_601);
    });

    it("a second token with a taken hash is a conflict naming 'tokenHash'", async () => {
      const u = await store.users.insert(newUser(), T);
      const hash = sha256(`the same secret ${hex(8)}`);
      const a = await store.tokens.insert(newToken(u.id, { tokenHash: hash }), T);
      await expectConflict(store.tokens.insert(newToken(u.id, { tokenHash: hash }), T + 1), 'tokenHash');
      expect(await store.tokens.findUsableByHash(hash, T + 2)).toEqual(a);
    });
  });

  // ================================================================ sessions
  describe('sessions', () => {
    it('insert answers the record without its hash; get reads it back', async () => {
      const u = await store.users.insert(newUser(), T);
      const ns = newSession(u.id, T + 3_600_000, { method: 'token', userAgent: 'Firefox', ip: '10.0.0.1' });
      const s = await store.sessions.insert(ns, T + 2);
      expect(s).toEqual({ id: ns.id, userId: u.id, csrfToken: ns.csrfToken, method: 'token', userAgent: 'Firefox', ip: '10.0.0.1', createdAt: T + 2, lastUsedAt: T + 2, expiresAt: T + 3_600_000, revokedAt: null });
      expect(await store.sessions.get(ns.id)).toEqual(s);
      expect(await store.sessions.get(newId(T))).toBeNull();
    });

    it('findUsableByHash finds a session until it expires or is revoked', async () => {
      const u = await store.users.insert(newUser(), T);
      const ns = newSession(u.id, T + 1000);
      const s = await store.sessions.insert(ns, T);
      expect(await store.sessions.findUsableByHash(ns.sessionHash, T + 999)).toEqual(s);
      expect(await store.sessions.findUsableByHash(ns.sessionHash, T + 1000)).toBeNull();
      expect(await store.sessions.findUsableByHash(sha256(hex(8)), T)).toBeNull();
      const ns2 = newSession(u.id, T + 10_000);
      const s2 = await store.sessions.insert(ns2, T);
      await store.sessions.revoke(s2.id, T + 1);
      expect(await store.sessions.findUsableByHash(ns2.sessionHash, T + 2)).toBeNull();
    });

    it('listActiveOfUser answers only usable sessions, newest first', async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const s1 = await store.sessions.insert(newSession(u.id, T + 100_000), T + 1);
      const s2a = await store.sessions.insert(newSession(u.id, T + 100_000), T + 2);
      const s2b = await store.sessions.insert(newSession(u.id, T + 100_000), T + 2);
      const revoked = await store.sessions.insert(newSession(u.id, T + 100_000), T + 3);
      await store.sessions.insert(newSession(u.id, T + 50), T + 4); // expired by T + 50
      await store.sessions.insert(newSession(other.id, T + 100_000), T + 5);
      await store.sessions.revoke(revoked.id, T + 6);
      const [newer, older] = [s2a, s2b].sort(byId).reverse();
      expect(await store.sessions.listActiveOfUser(u.id, T + 60)).toEqual([newer, older, s1]);
      expect(await store.sessions.listActiveOfUser(u.id, T + 100_000)).toEqual([]);
    });

    it('revoke sets revokedAt once', async () => {
      const u = await store.users.insert(newUser(), T);
      const s = await store.sessions.insert(newSession(u.id, T + 100_000), T);
      await store.sessions.revoke(s.id, T + 10);
      expect(await store.sessions.get(s.id)).toEqual({ ...s, revokedAt: T + 10 });
      await store.sessions.revoke(s.id, T + 20);
      expect((await store.sessions.get(s.id))?.revokedAt).toBe(T + 10);
    });

    it('revokeAllOfUser revokes every session but keepId and answers how many', async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const keep = await store.sessions.insert(newSession(u.id, T + 100_000), T);
      const a = await store.sessions.insert(newSession(u.id, T + 100_000), T);
      const b = await store.sessions.insert(newSession(u.id, T + 100_000), T);
      const o = await store.sessions.insert(newSession(other.id, T + 100_000), T);
      expect(await store.sessions.revokeAllOfUser(u.id, T + 5, keep.id)).toBe(2);
      expect((await store.sessions.get(a.id))?.revokedAt).toBe(T + 5);
      expect((await store.sessions.get(b.id))?.revokedAt).toBe(T + 5);
      expect(await store.sessions.get(keep.id)).toEqual(keep);
      expect(await store.sessions.get(o.id)).toEqual(o);
      expect(ids(await store.sessions.listActiveOfUser(u.id, T + 6))).toEqual([keep.id]);
      expect(await store.sessions.revokeAllOfUser(u.id, T + 7)).toBe(1);
      expect((await store.sessions.get(keep.id))?.revokedAt).toBe(T + 7);
      expect(await store.sessions.revokeAllOfUser(u.id, T + 8, null)).toBe(0);
    });

    it('touch records the use only when the last one is older than the granularity', async () => {
      const u = await store.users.insert(newUser(), T);
      const s = await store.sessions.insert(newSession(u.id, T + 10_000_000), T);
      await store.sessions.touch(s.id, T + 30_000);
      expect((await store.sessions.get(s.id))?.lastUsedAt).toBe(T);
      await store.sessions.touch(s.id, T + 60_000);
      expect((await store.sessions.get(s.id))?.lastUsedAt).toBe(T);
      await store.sessions.touch(s.id, T + 60_001);
      expect((await store.sessions.get(s.id))?.lastUsedAt).toBe(T + 60_001);
      await store.sessions.touch(s.id, T + 60_501, 1000);
      expect((await store.sessions.get(s.id))?.lastUsedAt).toBe(T + 60_001);
      await store.sessions.touch(s.id, T + 61_002, 1000);
      expect((await store.sessions.get(s.id))?.lastUsedAt).toBe(T + 61_002);
    });

    it("a second session with a taken hash is a conflict naming 'sessionHash'", async () => {
      const u = await store.users.insert(newUser(), T);
      const first = newSession(u.id, T + 100_000);
      const s = await store.sessions.insert(first, T);
      await expectConflict(store.sessions.insert(newSession(u.id, T + 100_000, { sessionHash: first.sessionHash }), T + 1), 'sessionHash');
      expect(await store.sessions.findUsableByHash(first.sessionHash, T + 2)).toEqual(s);
    });
  });

  // ================================================================ templates
  describe('templates', () => {
    it('insert stores the template with its first version; get and getByName read it back', async () => {
      const id = newId(T);
      const name = unique('t');
      const first = version('1.0.0', { job: 'job "a" {}', volumes: ['home'] }, 'creator-id');
      const tpl = await store.templates.insert(id, meta(name, { groups: ['a', 'b'], type: 'manual' }), first, T + 4);
      expect(tpl).toEqual({
        id,
        name,
        displayName: `Template ${name}`,
        description: 'for tests',
        type: 'manual',
        groups: ['a', 'b'],
        latestVersion: '1.0.0',
        latestHash: first.contentHash,
        createdBy: 'creator-id',
        createdAt: T + 4,
        updatedAt: T + 4,
        deletedAt: null,
      });
      expect(await store.templates.get(id)).toEqual(tpl);
      expect(await store.templates.getByName(name)).toEqual(tpl);
      expect(await store.templates.listVersions(id)).toEqual([
        { id: first.versionId, templateId: id, version: '1.0.0', contentHash: first.contentHash, content: first.content, createdBy: 'creator-id', createdAt: T + 4 },
      ]);
      expect(await store.templates.get(newId(T))).toBeNull();
      expect(await store.templates.getByName(unique('none'))).toBeNull();
    });

    it('list answers the live templates by name', async () => {
      const z = await insertTemplate(store, T, `zz${hex(4)}`);
      const a = await insertTemplate(store, T, `aa${hex(4)}`);
      const gone = await insertTemplate(store);
      await store.templates.markDeleted(gone.id, T + 1);
      const list = await store.templates.list();
      const names = list.map((x) => x.name);
      expect(names).toEqual([...names].sort());
      expect(list).toContainEqual(z);
      expect(list).toContainEqual(a);
      expect(ids(list)).not.toContain(gone.id);
      expect(list.every((x) => x.deletedAt === null)).toBe(true);
    });

    it('getByIds answers the templates that exist, deleted ones included', async () => {
      const a = await insertTemplate(store);
      const b = await insertTemplate(store);
      await store.templates.markDeleted(b.id, T + 1);
      const found = await store.templates.getByIds([a.id, b.id, newId(T)]);
      expect(found.sort(byId)).toEqual([a, { ...b, deletedAt: T + 1, updatedAt: T + 1 }].sort(byId));
      expect(await store.templates.getByIds([])).toEqual([]);
    });

    it('listVersions answers the versions oldest first; getVersion answers one', async () => {
      const tpl = await insertTemplate(store, T);
      const v2 = version('1.1.0', { job: 'two' });
      const v3 = version('2.0.0', { job: 'three' });
      await store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name), v2, T + 10);
      await store.templates.addVersion(tpl.id, '1.1.0', meta(tpl.name), v3, T + 20);
      const versions = await store.templates.listVersions(tpl.id);
      expect(versions.map((v) => [v.version, v.createdAt])).toEqual([
        ['1.0.0', T],
        ['1.1.0', T + 10],
        ['2.0.0', T + 20],
      ]);
      expect(await store.templates.getVersion(tpl.id, '1.1.0')).toEqual({ id: v2.versionId, templateId: tpl.id, version: '1.1.0', contentHash: v2.contentHash, content: { job: 'two' }, createdBy: null, createdAt: T + 10 });
      expect(await store.templates.getVersion(tpl.id, '9.9.9')).toBeNull();
      expect(await store.templates.getVersion(newId(T), '1.0.0')).toBeNull();
      expect(await store.templates.listVersions(newId(T))).toEqual([]);
    });

    it('versionContents answers the content of each pair that exists, keyed <templateId>@<version>', async () => {
      const a = await store.templates.insert(newId(T), meta(unique('t')), version('1.0.0', { job: 'a1' }), T);
      const b = await store.templates.insert(newId(T), meta(unique('t')), version('1.0.0', { job: 'b1' }), T);
      await store.templates.addVersion(a.id, '1.0.0', meta(a.name), version('1.0.1', { job: 'a2', n: 2 }), T + 1);
      const contents = await store.templates.versionContents([
        [a.id, '1.0.0'],
        [a.id, '1.0.1'],
        [b.id, '1.0.0'],
        [b.id, '7.0.0'],
        [newId(T), '1.0.0'],
      ]);
      expect(contents).toEqual(
        new Map<string, Record<string, unknown>>([
          [`${a.id}@1.0.0`, { job: 'a1' }],
          [`${a.id}@1.0.1`, { job: 'a2', n: 2 }],
          [`${b.id}@1.0.0`, { job: 'b1' }],
        ]),
      );
      expect(await store.templates.versionContents([])).toEqual(new Map());
    });

    it('addVersion with a new version updates the metadata and the latest version together', async () => {
      const tpl = await insertTemplate(store, T);
      const next = version('1.1.0', { job: 'next' }, 'editor');
      const updated = await store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name, { displayName: 'New', description: 'changed', groups: ['ops'] }), next, T + 30);
      const expected = { ...tpl, displayName: 'New', description: 'changed', groups: ['ops'], latestVersion: '1.1.0', latestHash: next.contentHash, updatedAt: T + 30 };
      expect(updated).toEqual(expected);
      expect(await store.templates.get(tpl.id)).toEqual(expected);
      expect((await store.templates.listVersions(tpl.id)).map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);
      expect((await store.templates.getVersion(tpl.id, '1.1.0'))?.createdBy).toBe('editor');
    });

    it('addVersion without a new version updates only the metadata', async () => {
      const tpl = await insertTemplate(store, T);
      const updated = await store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name, { description: 'only this' }), null, T + 40);
      const expected = { ...tpl, description: 'only this', updatedAt: T + 40 };
      expect(updated).toEqual(expected);
      expect(await store.templates.get(tpl.id)).toEqual(expected);
      expect((await store.templates.listVersions(tpl.id)).map((v) => v.version)).toEqual(['1.0.0']);
    });

    it('addVersion with a stale expectedLatest is a conflict and writes nothing', async () => {
      const tpl = await insertTemplate(store, T);
      await store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name), version('1.1.0'), T + 1);
      const current = await store.templates.get(tpl.id);
      await expectConflict(store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name, { description: 'stale edit' }), version('1.2.0'), T + 2));
      await expectConflict(store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name, { description: 'stale edit' }), null, T + 3));
      expect(await store.templates.get(tpl.id)).toEqual(current);
      expect(await store.templates.getVersion(tpl.id, '1.2.0')).toBeNull();
      expect((await store.templates.listVersions(tpl.id)).map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);
    });

    it('addVersion of a version that exists is a conflict naming the version, and writes nothing', async () => {
      const tpl = await insertTemplate(store, T);
      await store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name), version('1.1.0'), T + 1);
      const current = await store.templates.get(tpl.id);
      await expectConflict(store.templates.addVersion(tpl.id, '1.1.0', meta(tpl.name, { description: 'again' }), version('1.0.0'), T + 2), 'version');
      expect(await store.templates.get(tpl.id)).toEqual(current);
      expect((await store.templates.listVersions(tpl.id)).map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);
    });

    it('markDeleted frees the name, keeps the versions, and refuses further versions', async () => {
      const tpl = await insertTemplate(store, T);
      await store.templates.markDeleted(tpl.id, T + 50);
      expect(await store.templates.get(tpl.id)).toEqual({ ...tpl, deletedAt: T + 50, updatedAt: T + 50 });
      expect(await store.templates.getByName(tpl.name)).toBeNull();
      expect(ids(await store.templates.list())).not.toContain(tpl.id);
      expect((await store.templates.listVersions(tpl.id)).map((v) => v.version)).toEqual(['1.0.0']);
      await expectConflict(store.templates.addVersion(tpl.id, '1.0.0', meta(tpl.name), version('1.1.0'), T + 51));

      const again = await insertTemplate(store, T + 60, tpl.name);
      expect(again.id).not.toBe(tpl.id);
      expect(await store.templates.getByName(tpl.name)).toEqual(again);
      expect((await store.templates.list()).filter((x) => x.name === tpl.name)).toEqual([again]);
      expect((await store.templates.getByIds([tpl.id, again.id])).length).toBe(2);
    });

    it("a taken live name is a conflict naming 'name'", async () => {
      const tpl = await insertTemplate(store, T);
      const id = newId(T);
      await expectConflict(store.templates.insert(id, meta(tpl.name), version('1.0.0'), T + 1), 'name');
      expect(await store.templates.getByName(tpl.name)).toEqual(tpl);
      expect(await store.templates.get(id)).toBeNull();
      expect(await store.templates.listVersions(id)).toEqual([]);
    });
  });

  // ================================================================ variables
  describe('variables', () => {
    it('insert answers the variable; get reads it back', async () => {
      const v = { id: newId(T), name: unique('VAR_'), value: 'v1:ciphertext', protected: true };
      const stored = await store.variables.insert(v, T + 3);
      expect(stored).toEqual({ ...v, createdAt: T + 3, updatedAt: T + 3 });
      expect(await store.variables.get(v.name)).toEqual(stored);
      expect(await store.variables.get(unique('NONE_'))).toBeNull();
    });

    it('list is sorted by name', async () => {
      const z = await store.variables.insert({ id: newId(T), name: `zz_${hex(4)}`, value: 'z', protected: false }, T);
      const a = await store.variables.insert({ id: newId(T), name: `AA_${hex(4)}`, value: 'a', protected: false }, T);
      const list = await store.variables.list();
      const names = list.map((v) => v.name);
      expect(names).toEqual([...names].sort());
      expect(list).toContainEqual(z);
      expect(list).toContainEqual(a);
    });

    it('update changes the patched fields and updatedAt', async () => {
      const v = await store.variables.insert({ id: newId(T), name: unique('VAR_'), value: 'one', protected: false }, T);
      await store.variables.update(v.name, { value: 'two' }, T + 1);
      expect(await store.variables.get(v.name)).toEqual({ ...v, value: 'two', updatedAt: T + 1 });
      await store.variables.update(v.name, { protected: true, value: 'v1:x' }, T + 2);
      expect(await store.variables.get(v.name)).toEqual({ ...v, value: 'v1:x', protected: true, updatedAt: T + 2 });
      const missing = unique('NONE_');
      await store.variables.update(missing, { value: 'x' }, T);
      expect(await store.variables.get(missing)).toBeNull();
    });

    it('delete answers true when it deleted, false when there was nothing', async () => {
      const v = await store.variables.insert({ id: newId(T), name: unique('VAR_'), value: 'x', protected: false }, T);
      expect(await store.variables.delete(v.name)).toBe(true);
      expect(await store.variables.get(v.name)).toBeNull();
      expect(await store.variables.delete(v.name)).toBe(false);
      expect((await store.variables.list()).map((x) => x.name)).not.toContain(v.name);
    });

    it("a taken name is a conflict naming 'name'", async () => {
      const v = await store.variables.insert({ id: newId(T), name: unique('VAR_'), value: 'first', protected: false }, T);
      await expectConflict(store.variables.insert({ id: newId(T), name: v.name, value: 'second', protected: false }, T + 1), 'name');
      expect(await store.variables.get(v.name)).toEqual(v);
    });
  });

  // ================================================================ spaces
  describe('spaces', () => {
    it("insert creates the space 'stopped'; get reads it back", async () => {
      const { owner, template } = await ownerAndTemplate();
      const ns = newSpace(owner.id, template.id, { parameters: { size: 20, name: 'x', on: true }, shell: 'zsh', agentUrl: 'http://agent.example:3000' });
      const s = await store.spaces.insert(ns, T + 9);
      expect(s).toEqual({
        id: ns.id,
        name: ns.name,
        ownerId: owner.id,
        templateId: template.id,
        templateRef: '1.0.0',
        parameters: { size: 20, name: 'x', on: true },
        shell: 'zsh',
        agentUrl: 'http://agent.example:3000',
        phase: 'stopped',
        reason: '',
        message: '',
        appliedVersion: null,
        appliedHash: null,
        nomadJobId: null,
        lastOperationId: null,
        startedAt: null,
        createdAt: T + 9,
        updatedAt: T + 9,
        deletedAt: null,
      });
      expect(await store.spaces.get(ns.id)).toEqual(s);
      expect(await store.spaces.get(newId(T))).toBeNull();
    });

    it('insert of an id that exists answers the existing record', async () => {
      const { owner, template } = await ownerAndTemplate();
      const ns = newSpace(owner.id, template.id);
      const first = await store.spaces.insert(ns, T);
      await store.spaces.update(ns.id, { phase: 'starting' }, T + 1);
      const again = await store.spaces.insert({ ...ns, name: unique('s'), shell: 'fish' }, T + 2);
      expect(again).toEqual({ ...first, phase: 'starting', updatedAt: T + 1 });
      expect(await store.spaces.countOwnedBy(owner.id, true)).toBe(1);
    });

    it('require answers a live space and is not_found for a missing or deleted one', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      expect(await store.spaces.require(s.id)).toEqual(s);
      expectKnotError(await rejection(store.spaces.require(newId(T))), ErrorType.NotFound);
      await store.spaces.markDeleted(s.id, T + 1);
      expectKnotError(await rejection(store.spaces.require(s.id)), ErrorType.NotFound);
    });

    it("getByName answers the owner's live space of that name", async () => {
      const { owner, template } = await ownerAndTemplate();
      const other = await store.users.insert(newUser(), T);
      const s = await space(owner.id, template.id);
      expect(await store.spaces.getByName(owner.id, s.name)).toEqual(s);
      expect(await store.spaces.getByName(other.id, s.name)).toBeNull();
      expect(await store.spaces.getByName(owner.id, unique('s'))).toBeNull();
      await store.spaces.markDeleted(s.id, T + 1);
      expect(await store.spaces.getByName(owner.id, s.name)).toBeNull();
    });

    it("a name the owner has a live space of is a conflict naming 'name'; another owner may use it", async () => {
      const { owner, template } = await ownerAndTemplate();
      const other = await store.users.insert(newUser(), T);
      const s = await space(owner.id, template.id);
      const dup = newSpace(owner.id, template.id, { name: s.name });
      await expectConflict(store.spaces.insert(dup, T + 1), 'name');
      expect(await store.spaces.get(dup.id)).toBeNull();
      expect(await store.spaces.getByName(owner.id, s.name)).toEqual(s);
      const theirs = await store.spaces.insert(newSpace(other.id, template.id, { name: s.name }), T + 2);
      expect(await store.spaces.getByName(other.id, s.name)).toEqual(theirs);
    });

    it('list pages through live spaces in (createdAt, id) order with the cursor, ties included', async () => {
      const { owner, template } = await ownerAndTemplate();
      const base = T + 100_000;
      const mine: Space[] = [];
      // 25 spaces, createdAt in groups of 4 (ties), inserted out of order
      const order = Array.from({ length: 25 }, (_, i) => (i * 7) % 25);
      for (const i of order) mine.push(await store.spaces.insert(newSpace(owner.id, template.id), base + Math.floor(i / 4)));
      const expected = [...mine].sort(byCreated);

      const byOwner = await listAll({ ownerId: owner.id }, 7);
      expect(byOwner.pages).toEqual([7, 7, 7, 4, 0]);
      expect(ids(byOwner.all)).toEqual(ids(expected));
      expect(byOwner.all).toEqual(expected);

      // without a filter: every live space of the store, the same order, mine among them
      const everything = await listAll({}, 7);
      const oneShot = await store.spaces.list({ limit: 100_000 });
      expect(ids(everything.all)).toEqual(ids(oneShot));
      expect(ids(oneShot)).toEqual(ids([...oneShot].sort(byCreated)));
      const mineIds = new Set(ids(mine));
      expect(ids(everything.all.filter((s) => mineIds.has(s.id)))).toEqual(ids(expected));
      expect(everything.all.every((s) => s.deletedAt === null)).toBe(true);
    });

    it('list filters by owner, template and phase, alone and together, and pages with the filter', async () => {
      const a = await store.users.insert(newUser(), T);
      const b = await store.users.insert(newUser(), T);
      const x = await insertTemplate(store);
      const y = await insertTemplate(store);
      const base = T + 200_000;
      const specs: [User, TemplateRecord, SpacePhase][] = [
        [a, x, 'stopped'],
        [a, x, 'running'],
        [a, y, 'stopped'],
        [a, y, 'running'],
        [a, x, 'failed'],
        [b, x, 'stopped'],
        [b, x, 'running'],
        [b, y, 'failed'],
        [b, y, 'starting'],
      ];
      const live: Space[] = [];
      for (const [i, [owner, tpl, phase]] of specs.entries()) live.push(await space(owner.id, tpl.id, base + Math.floor(i / 2), {}, phase === 'stopped' ? {} : { phase }));
      const gone = await space(a.id, x.id, base);
      await store.spaces.markDeleted(gone.id, base + 50);

      const expectedIds = (f: Omit<SpaceFilter, 'limit'>) =>
        ids(live.filter((s) => (!f.ownerId || s.ownerId === f.ownerId) && (!f.templateId || s.templateId === f.templateId) && (!f.phase || s.phase === f.phase)).sort(byCreated));
      const exact: Omit<SpaceFilter, 'limit'>[] = [
        { ownerId: a.id },
        { ownerId: b.id },
        { templateId: x.id },
        { templateId: y.id },
        { ownerId: a.id, templateId: x.id },
        { ownerId: a.id, phase: 'running' },
        { templateId: x.id, phase: 'stopped' },
        { ownerId: b.id, templateId: y.id, phase: 'failed' },
        { ownerId: a.id, templateId: y.id, phase: 'starting' },
      ];
      for (const f of exact) {
        expect({ f, got: ids(await store.spaces.list({ ...f, limit: 100 })) }).toEqual({ f, got: expectedIds(f) });
        expect({ f, paged: ids((await listAll(f, 2)).all) }).toEqual({ f, paged: expectedIds(f) });
      }
      // a phase alone spans the store: every answer has the phase, mine are there in order
      for (const phase of ['running', 'failed', 'stopped'] as const) {
        const { all } = await listAll({ phase }, 3);
        expect(all.every((s) => s.phase === phase && s.deletedAt === null)).toBe(true);
        const liveIds = new Set(ids(live));
        expect(ids(all.filter((s) => liveIds.has(s.id)))).toEqual(expectedIds({ phase }));
      }
      expect(await store.spaces.list({ ownerId: a.id, phase: 'deleted', limit: 100 })).toEqual([]);
      expect(ids(await store.spaces.list({ ownerId: a.id, limit: 100 }))).not.toContain(gone.id);
      expect(await store.spaces.list({ ownerId: newId(T), limit: 100 })).toEqual([]);
    });

    it('list with newestFirst pages in (createdAt, id) descending order with the cursor, ties included', async () => {
      const { owner, template } = await ownerAndTemplate();
      const base = T + 300_000;
      const mine: Space[] = [];
      const order = Array.from({ length: 17 }, (_, i) => (i * 5) % 17);
      for (const i of order) mine.push(await store.spaces.insert(newSpace(owner.id, template.id), base + Math.floor(i / 3)));
      const expected = [...mine].sort(byCreated).reverse();

      const byOwner = await listAll({ ownerId: owner.id, newestFirst: true }, 5);
      expect(byOwner.pages).toEqual([5, 5, 5, 2, 0]);
      expect(ids(byOwner.all)).toEqual(ids(expected));
      // the whole store, newest first: the reverse of the oldest-first walk
      const newest = await listAll({ newestFirst: true }, 7);
      const oldest = await listAll({}, 7);
      expect(ids(newest.all)).toEqual(ids(oldest.all).reverse());
    });

    it('list filters by name prefix, alone and with owner, template and phase, in both orders, and pages with it', async () => {
      const a = await store.users.insert(newUser(), T);
      const b = await store.users.insert(newUser(), T);
      const x = await insertTemplate(store);
      const y = await insertTemplate(store);
      const p = unique('n');
      const base = T + 400_000;
      // names around the prefix: the prefix itself, longer ones, ones ending in the last letter and
      // digit (a store's upper bound is the prefix with its last character raised), and near misses
      const specs: [string, User, TemplateRecord, SpacePhase][] = [
        [`${p}`, a, x, 'stopped'],
        [`${p}-dev`, a, x, 'running'],
        [`${p}z`, a, y, 'stopped'],
        [`${p}z9`, b, x, 'failed'],
        [`${p}9`, b, y, 'running'],
        [`${p}a`, a, x, 'running'],
        [`${p}zz`, a, x, 'stopped'],
        [`x${p}`, a, x, 'stopped'],
        [`${p.slice(0, -1)}`, a, x, 'stopped'],
      ];
      const live: Space[] = [];
      for (const [i, [name, owner, tpl, phase]] of specs.entries()) live.push(await space(owner.id, tpl.id, base + Math.floor(i / 2), { name }, phase === 'stopped' ? {} : { phase }));
      const gone = await space(a.id, x.id, base, { name: `${p}gone` });
      await store.spaces.markDeleted(gone.id, base + 50);

      const expectedIds = (f: Omit<SpaceFilter, 'limit'>) => {
        const found = live
          .filter(
            (s) =>
              (!f.namePrefix || s.name.startsWith(f.namePrefix)) &&
              (!f.ownerId || s.ownerId === f.ownerId) &&
              (!f.templateId || s.templateId === f.templateId) &&
              (!f.phase || s.phase === f.phase),
          )
          .sort(byCreated);
        return ids(f.newestFirst ? found.reverse() : found);
      };
      const cases: Omit<SpaceFilter, 'limit'>[] = [
        { namePrefix: p },
        { namePrefix: `${p}z` },
        { namePrefix: `${p}z9` },
        { namePrefix: `${p}-` },
        { namePrefix: `${p}9` },
        { namePrefix: `${p}q` },
        { namePrefix: `x${p}` },
        { namePrefix: p, ownerId: a.id },
        { namePrefix: p, ownerId: b.id },
        { namePrefix: p, templateId: y.id },
        { namePrefix: p, phase: 'running' },
        { namePrefix: `${p}z`, ownerId: a.id, templateId: x.id, phase: 'stopped' },
        { namePrefix: p, newestFirst: true },
        { namePrefix: p, ownerId: a.id, newestFirst: true },
      ];
      for (const f of cases) {
        expect({ f, got: ids(await store.spaces.list({ ...f, limit: 100 })) }).toEqual({ f, got: expectedIds(f) });
        expect({ f, paged: ids((await listAll(f, 2)).all) }).toEqual({ f, paged: expectedIds(f) });
      }
      expect(expectedIds({ namePrefix: p })).toHaveLength(7);
      expect(ids(await store.spaces.list({ namePrefix: p, limit: 3 }))).toEqual(expectedIds({ namePrefix: p }).slice(0, 3));
      expect(ids(await store.spaces.list({ namePrefix: `${p}gone`, limit: 10 }))).toEqual([]);
      // the filters follow a change: a space that stops matching the phase leaves the answer
      const dev = live[1] as Space;
      await store.spaces.update(dev.id, { phase: 'stopped' }, base + 60);
      expect(ids(await store.spaces.list({ namePrefix: p, phase: 'running', limit: 10 }))).not.toContain(dev.id);
      expect(ids(await store.spaces.list({ namePrefix: `${p}-`, phase: 'stopped', limit: 10 }))).toEqual([dev.id]);
    });

    it('update changes every patched field and updatedAt, and the lists follow', async () => {
      const { owner, template } = await ownerAndTemplate();
      const other = await insertTemplate(store);
      const s = await space(owner.id, template.id, T);
      const patch = {
        templateRef: '2.0.0',
        templateId: other.id,
        parameters: { size: 50, fast: true },
        shell: 'zsh',
        agentUrl: 'http://agent:1',
        phase: 'running' as const,
        reason: 'StartFailed:start_timeout',
        message: 'a message',
        appliedVersion: '2.0.0',
        appliedHash: sha256('applied'),
        nomadJobId: `job-${hex(4)}`,
        lastOperationId: newId(T),
        startedAt: T + 77,
      };
      await store.spaces.update(s.id, patch, T + 80);
      const updated = { ...s, ...patch, updatedAt: T + 80 };
      expect(await store.spaces.get(s.id)).toEqual(updated);
      expect(ids(await store.spaces.list({ ownerId: owner.id, phase: 'running', limit: 10 }))).toEqual([s.id]);
      expect(await store.spaces.list({ ownerId: owner.id, phase: 'stopped', limit: 10 })).toEqual([]);
      expect(await store.spaces.countUsingTemplate(template.id)).toBe(0);
      expect(await store.spaces.countUsingTemplate(other.id)).toBe(1);
      expect(ids(await store.spaces.list({ templateId: other.id, limit: 10 }))).toEqual([s.id]);

      await store.spaces.update(s.id, {}, T + 90);
      expect(await store.spaces.get(s.id)).toEqual({ ...updated, updatedAt: T + 90 });

      await store.spaces.update(s.id, { agentUrl: null, appliedVersion: null, appliedHash: null, nomadJobId: null, lastOperationId: null, startedAt: null, phase: 'stopped', reason: '', message: '' }, T + 100);
      expect(await store.spaces.get(s.id)).toEqual({
        ...updated,
        agentUrl: null,
        appliedVersion: null,
        appliedHash: null,
        nomadJobId: null,
        lastOperationId: null,
        startedAt: null,
        phase: 'stopped',
        reason: '',
        message: '',
        updatedAt: T + 100,
      });
    });

    it("markDeleted: phase 'deleted', job forgotten, name freed, out of the lists and counts", async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id, T, {}, { phase: 'stopped', nomadJobId: `job-${hex(4)}` });
      const keep = await space(owner.id, template.id, T);
      await store.spaces.markDeleted(s.id, T + 500);
      const d = await store.spaces.get(s.id);
      expect(d).toMatchObject({ id: s.id, name: s.name, phase: 'deleted', nomadJobId: null, deletedAt: T + 500, updatedAt: T + 500 });
      expect(await store.spaces.getByName(owner.id, s.name)).toBeNull();
      expect(ids(await store.spaces.list({ ownerId: owner.id, limit: 10 }))).toEqual([keep.id]);
      expect(await store.spaces.countOwnedBy(owner.id, false)).toBe(1);
      expect(await store.spaces.countOwnedBy(owner.id, true)).toBe(2);
      expect(await store.spaces.countUsingTemplate(template.id)).toBe(1);
      const again = await store.spaces.insert(newSpace(owner.id, template.id, { name: s.name }), T + 600);
      expect(await store.spaces.getByName(owner.id, s.name)).toEqual(again);
    });

    it('countUsingTemplate counts the live spaces of a template', async () => {
      const { owner, template } = await ownerAndTemplate();
      expect(await store.spaces.countUsingTemplate(template.id)).toBe(0);
      await space(owner.id, template.id);
      const b = await space(owner.id, template.id);
      await space(owner.id, template.id);
      expect(await store.spaces.countUsingTemplate(template.id)).toBe(3);
      await store.spaces.markDeleted(b.id, T + 1);
      expect(await store.spaces.countUsingTemplate(template.id)).toBe(2);
      expect(await store.spaces.countUsingTemplate(newId(T))).toBe(0);
    });

    it('countOwnedBy counts live spaces, or every space with includeDeleted', async () => {
      const { owner, template } = await ownerAndTemplate();
      const other = await store.users.insert(newUser(), T);
      await space(owner.id, template.id);
      const b = await space(owner.id, template.id);
      await space(other.id, template.id);
      await store.spaces.markDeleted(b.id, T + 1);
      expect(await store.spaces.countOwnedBy(owner.id, false)).toBe(1);
      expect(await store.spaces.countOwnedBy(owner.id, true)).toBe(2);
      expect(await store.spaces.countOwnedBy(other.id, false)).toBe(1);
      expect(await store.spaces.countOwnedBy(newId(T), true)).toBe(0);
    });

    it('listRunning pages through running spaces in (startedAt, id) order, ties included', async () => {
      const { owner, template } = await ownerAndTemplate();
      // startedAt far below every other test's, so these come first
      const mine: Space[] = [];
      for (let i = 0; i < 8; i++) mine.push(await space(owner.id, template.id, T, {}, { phase: 'running', startedAt: 5_000 + Math.floor(((i * 5) % 8) / 3), appliedVersion: i % 2 ? '1.0.0' : null }));
      await space(owner.id, template.id, T, {}, { phase: 'running' }); // no startedAt
      await space(owner.id, template.id, T, {}, { phase: 'stopped', startedAt: 5_000 });
      const wasRunning = await space(owner.id, template.id, T, {}, { phase: 'running', startedAt: 5_000 });
      await store.spaces.markDeleted(wasRunning.id, T + 1);

      const asRunning = (s: Space): RunningSpace => ({ id: s.id, ownerId: s.ownerId, templateId: s.templateId, version: s.appliedVersion, startedAt: s.startedAt as number });
      const expected = mine.sort((p, q) => (p.startedAt as number) - (q.startedAt as number) || byId(p, q)).map(asRunning);

      expect(await store.spaces.listRunning(null, 3)).toEqual(expected.slice(0, 3));
      const paged: RunningSpace[] = [];
      const pages: number[] = [];
      let after: { startedAt: number; id: string } | null = null;
      for (;;) {
        const page: RunningSpace[] = await store.spaces.listRunning(after, 3);
        pages.push(page.length);
        paged.push(...page);
        const last = page[page.length - 1];
        if (!last || pages.length > 10_000) break;
        after = { startedAt: last.startedAt, id: last.id };
      }
      // full pages, then one of 1-3, then an empty one
      const filled = pages.slice(0, -1);
      expect(pages[pages.length - 1]).toBe(0);
      expect(filled.slice(0, -1).every((n) => n === 3)).toBe(true);
      expect(filled[filled.length - 1]).toBeGreaterThanOrEqual(1);
      expect(filled.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(8);
      const oneShot = await store.spaces.listRunning(null, 100_000);
      expect(paged).toEqual(oneShot);
      expect(ids(oneShot)).toEqual(ids([...oneShot].sort((p, q) => p.startedAt - q.startedAt || byId(p, q))));
      const mineIds = new Set(ids(mine));
      expect(paged.filter((r) => mineIds.has(r.id))).toEqual(expected);
      expect(paged.filter((r) => r.ownerId === owner.id)).toEqual(expected);
    });

    it('facts answers phase, deletion and job of each space that exists', async () => {
      const { owner, template } = await ownerAndTemplate();
      const running = await space(owner.id, template.id, T, {}, { phase: 'running', nomadJobId: 'job-1', startedAt: T });
      const stopped = await space(owner.id, template.id, T);
      const deleted = await deletedSpace(owner.id, template.id, T + 1);
      const missing = newId(T);
      expect(await store.spaces.facts([running.id, stopped.id, deleted.id, missing, running.id])).toEqual(
        new Map([
          [running.id, { phase: 'running', deleted: false, nomadJobId: 'job-1' }],
          [stopped.id, { phase: 'stopped', deleted: false, nomadJobId: null }],
          [deleted.id, { phase: 'deleted', deleted: true, nomadJobId: null }],
        ]),
      );
      expect(await store.spaces.facts([])).toEqual(new Map());
    });

    it('failLeftByOperation fails a space left transitional by that operation, and only that', async () => {
      const { owner, template } = await ownerAndTemplate();
      const op1 = newId(T);
      const op2 = newId(T);
      const starting = await space(owner.id, template.id, T, {}, { phase: 'starting', lastOperationId: op1 });
      const stopping = await space(owner.id, template.id, T, {}, { phase: 'stopping', lastOperationId: op1 });
      const deleting = await space(owner.id, template.id, T, {}, { phase: 'deleting', lastOperationId: op1 });
      const takenOver = await space(owner.id, template.id, T, {}, { phase: 'starting', lastOperationId: op2 });
      const running = await space(owner.id, template.id, T, {}, { phase: 'running', lastOperationId: op1, startedAt: T });
      const stopped = await space(owner.id, template.id, T, {}, { lastOperationId: op1 });

      for (const s of [starting, stopping, deleting, takenOver, running, stopped]) {
        await store.spaces.failLeftByOperation(s.id, op1, 'OperationStuck', 'the operation stopped', T + 10);
      }
      await store.spaces.failLeftByOperation(newId(T), op1, 'OperationStuck', 'x', T + 10);
      for (const s of [starting, stopping, deleting]) {
        expect(await store.spaces.get(s.id)).toEqual({ ...s, phase: 'failed', reason: 'OperationStuck', message: 'the operation stopped', updatedAt: T + 10 });
      }
      for (const s of [takenOver, running, stopped]) expect(await store.spaces.get(s.id)).toEqual(s);
    });

    it('listDeletedBefore answers deleted spaces without volume records, oldest first, up to the limit', async () => {
      const { owner, template } = await ownerAndTemplate();
      // deletion times far below every other test's
      const d3 = await deletedSpace(owner.id, template.id, 1_300);
      const d1a = await deletedSpace(owner.id, template.id, 1_100);
      const d1b = await deletedSpace(owner.id, template.id, 1_100);
      const d2 = await deletedSpace(owner.id, template.id, 1_200);
      const withVolume = await deletedSpace(owner.id, template.id, 1_150);
      const later = await deletedSpace(owner.id, template.id, 1_900);
      const liveOne = await space(owner.id, template.id);
      const volumeId = unique('vol');
      try {
        await store.volumes.record({ spaceId: withVolume.id, volumeId, type: 'csi', nomadId: volumeId, createdByOperation: null }, T);
        const [first, second] = [d1a, d1b].sort(byId) as [Space, Space];
        expect(await store.spaces.listDeletedBefore(1_500, 10)).toEqual([first.id, second.id, d2.id, d3.id]);
        expect(await store.spaces.listDeletedBefore(1_500, 2)).toEqual([first.id, second.id]);
        expect(await store.spaces.listDeletedBefore(1_200, 10)).toEqual([first.id, second.id]);
        expect(await store.spaces.listDeletedBefore(1_100, 10)).toEqual([]);
        expect(await store.spaces.listDeletedBefore(1_500, 0)).toEqual([]);
        await store.volumes.forget(withVolume.id, volumeId);
        expect(await store.spaces.listDeletedBefore(1_500, 10)).toEqual([first.id, second.id, withVolume.id, d2.id, d3.id]);
        expect(await store.spaces.listDeletedBefore(2_000, 10)).toEqual([first.id, second.id, withVolume.id, d2.id, d3.id, later.id]);
        expect(await store.spaces.listDeletedBefore(2_000, 10)).not.toContain(liveOne.id);
      } finally {
        // leave nothing in this time window for other tests
        await store.volumes.forget(withVolume.id, volumeId);
        await store.spaces.purgeDeleted([d1a.id, d1b.id, d2.id, d3.id, withVolume.id, later.id]);
      }
    });

    it('purgeDeleted forgets deleted spaces with their volume records, operations, steps and agent state; live ones are untouched', async () => {
      const { owner, template } = await ownerAndTemplate();
      const agents = store.agentState(600_000);
      const now = Date.now();
      const gone = await space(owner.id, template.id);
      const bare = await space(owner.id, template.id);
      const live = await space(owner.id, template.id);
      const setUp = async (s: Space) => {
        const volumeId = unique('vol');
        await store.volumes.record({ spaceId: s.id, volumeId, type: 'host', nomadId: unique('nomad'), createdByOperation: null }, T);
        const op = await store.operations.insert(newOperation(s.id), T);
        await store.steps.start(op.id, 'render', T);
        await agents.report(s.id, { services: { ssh: true } }, now);
        return { volumeId, op };
      };
      const g = await setUp(gone);
      const l = await setUp(live);
      await store.spaces.markDeleted(gone.id, T + 1);
      await store.spaces.markDeleted(bare.id, T + 1);
      const liveBefore = await store.spaces.get(live.id);
      const liveVolumes = await store.volumes.listOfSpace(live.id);
      const liveOps = await store.operations.listOfSpace(live.id);
      const liveSteps = await store.steps.list(l.op.id);

      await store.spaces.purgeDeleted([gone.id, bare.id, live.id, newId(T)]);

      expect(await store.spaces.get(gone.id)).toBeNull();
      expect(await store.spaces.get(bare.id)).toBeNull();
      expect(await store.volumes.listOfSpace(gone.id)).toEqual([]);
      expect(await store.volumes.owner(g.volumeId)).toBeNull();
      expect(await store.volumes.records([g.volumeId])).toEqual(new Map());
      expect(await store.operations.get(g.op.id)).toBeNull();
      expect(await store.operations.listOfSpace(gone.id)).toEqual([]);
      expect(await store.operations.activeSpaceIds([gone.id])).toEqual(new Set());
      expect(await store.steps.list(g.op.id)).toEqual([]);
      expect(await agents.get(gone.id)).toBeNull();
      expect(await store.spaces.countOwnedBy(owner.id, true)).toBe(1);

      expect(await store.spaces.get(live.id)).toEqual(liveBefore);
      expect(await store.volumes.listOfSpace(live.id)).toEqual(liveVolumes);
      expect(await store.volumes.owner(l.volumeId)).toBe(live.id);
      expect(await store.operations.listOfSpace(live.id)).toEqual(liveOps);
      expect(await store.steps.list(l.op.id)).toEqual(liveSteps);
      expect(await agents.get(live.id)).toMatchObject({ services: { ssh: true }, lastSeen: now });

      await store.spaces.purgeDeleted([]);
    });
  });

  // ================================================================ volumes
  describe('volumes', () => {
    it('record is idempotent, and a later call fills in the Nomad id; get reads it', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const op = newId(T);
      const volumeId = unique('vol');
      await store.volumes.record({ spaceId: s.id, volumeId, type: 'host', nomadId: null, createdByOperation: op }, T + 1);
      const first = { spaceId: s.id, volumeId, type: 'host', nomadId: null, createdByOperation: op, createdAt: T + 1 };
      expect(await store.volumes.get(s.id, volumeId)).toEqual(first);
      await store.volumes.record({ spaceId: s.id, volumeId, type: 'host', nomadId: null, createdByOperation: newId(T) }, T + 2);
      expect(await store.volumes.get(s.id, volumeId)).toEqual(first);
      const nomadId = `nomad-${hex(6)}`;
      await store.volumes.record({ spaceId: s.id, volumeId, type: 'host', nomadId, createdByOperation: op }, T + 3);
      expect(await store.volumes.get(s.id, volumeId)).toEqual({ ...first, nomadId });
      expect(await store.volumes.listOfSpace(s.id)).toEqual([{ ...first, nomadId }]);
      expect(await store.volumes.get(s.id, unique('vol'))).toBeNull();
    });

    it('listOfSpace answers the records of a space by volume id', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const p = unique('vol');
      for (const suffix of ['-c', '-a', '-b']) await store.volumes.record({ spaceId: s.id, volumeId: p + suffix, type: 'csi', nomadId: p + suffix, createdByOperation: null }, T);
      expect((await store.volumes.listOfSpace(s.id)).map((v) => v.volumeId)).toEqual([p + '-a', p + '-b', p + '-c']);
      expect(await store.volumes.listOfSpace(newId(T))).toEqual([]);
    });

    it('listOfSpaces groups the records by space, each by volume id; spaces without volumes are absent', async () => {
      const { owner, template } = await ownerAndTemplate();
      const [a, b, none] = [await space(owner.id, template.id), await space(owner.id, template.id), await space(owner.id, template.id)];
      const p = unique('vol');
      const rec = (spaceId: string, volumeId: string) => ({ spaceId, volumeId, type: 'csi' as const, nomadId: volumeId, createdByOperation: null });
      await store.volumes.record(rec(a.id, `${p}-a2`), T);
      await store.volumes.record(rec(a.id, `${p}-a1`), T);
      await store.volumes.record(rec(b.id, `${p}-b1`), T);
      const got = await store.volumes.listOfSpaces([a.id, b.id, none.id, newId(T)]);
      expect(new Set(got.keys())).toEqual(new Set([a.id, b.id]));
      expect(got.get(a.id)).toEqual([
        { ...rec(a.id, `${p}-a1`), createdAt: T },
        { ...rec(a.id, `${p}-a2`), createdAt: T },
      ]);
      expect(got.get(b.id)).toEqual([{ ...rec(b.id, `${p}-b1`), createdAt: T }]);
      expect(await store.volumes.listOfSpaces([])).toEqual(new Map());
    });

    it('owner answers the space holding a record of the volume', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const volumeId = unique('vol');
      await store.volumes.record({ spaceId: s.id, volumeId, type: 'csi', nomadId: volumeId, createdByOperation: null }, T);
      expect(await store.volumes.owner(volumeId)).toBe(s.id);
      expect(await store.volumes.owner(unique('vol'))).toBeNull();
    });

    it('forget removes the record', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const [v1, v2] = [unique('vol'), unique('vol')];
      await store.volumes.record({ spaceId: s.id, volumeId: v1, type: 'csi', nomadId: v1, createdByOperation: null }, T);
      await store.volumes.record({ spaceId: s.id, volumeId: v2, type: 'csi', nomadId: v2, createdByOperation: null }, T);
      await store.volumes.forget(s.id, v1);
      expect(await store.volumes.get(s.id, v1)).toBeNull();
      expect(await store.volumes.owner(v1)).toBeNull();
      expect(await store.volumes.records([v1])).toEqual(new Map());
      expect((await store.volumes.listOfSpace(s.id)).map((v) => v.volumeId)).toEqual([v2]);
      await store.volumes.forget(s.id, v1);
      expect((await store.volumes.listOfSpace(s.id)).map((v) => v.volumeId)).toEqual([v2]);
    });

    it("records finds records by volume id and by Nomad id, keyed by both, with the space's deletion time", async () => {
      const { owner, template } = await ownerAndTemplate();
      const live = await space(owner.id, template.id);
      const gone = await space(owner.id, template.id);
      const [hostVol, csiVol] = [unique('vol'), unique('vol')];
      const nomadId = `nomad-${hex(6)}`;
      await store.volumes.record({ spaceId: live.id, volumeId: hostVol, type: 'host', nomadId, createdByOperation: null }, T);
      await store.volumes.record({ spaceId: gone.id, volumeId: csiVol, type: 'csi', nomadId: csiVol, createdByOperation: null }, T);
      await store.spaces.markDeleted(gone.id, T + 7);
      const hostRecord = { spaceId: live.id, volumeId: hostVol, type: 'host', nomadId, createdByOperation: null, createdAt: T, spaceDeletedAt: null };
      const csiRecord = { spaceId: gone.id, volumeId: csiVol, type: 'csi', nomadId: csiVol, createdByOperation: null, createdAt: T, spaceDeletedAt: T + 7 };

      expect(await store.volumes.records([nomadId])).toEqual(
        new Map([
          [hostVol, hostRecord],
          [nomadId, hostRecord],
        ]),
      );
      expect(await store.volumes.records([hostVol, csiVol, unique('vol')])).toEqual(
        new Map<string, unknown>([
          [hostVol, hostRecord],
          [nomadId, hostRecord],
          [csiVol, csiRecord],
        ]),
      );
      expect(await store.volumes.records([])).toEqual(new Map());
    });

    it('recordsOfDeletedSpaces answers records of spaces deleted before the time, oldest deletion first, up to the limit', async () => {
      const { owner, template } = await ownerAndTemplate();
      const p = unique('vol');
      // deletion times far below every other test's (and above listDeletedBefore's window)
      const make = async (deletedAt: number | null, volumes: string[]) => {
        const s = await space(owner.id, template.id);
        for (const v of volumes) await store.volumes.record({ spaceId: s.id, volumeId: `${p}-${v}`, type: 'csi', nomadId: `${p}-${v}`, createdByOperation: null }, T);
        if (deletedAt !== null) await store.spaces.markDeleted(s.id, deletedAt);
        return s;
      };
      const s10 = await make(3_010, ['z', 'y']);
      const s05 = await make(3_005, ['m']);
      const s20 = await make(3_020, ['a']);
      const late = await make(3_900, ['late']);
      await make(null, ['live']);
      const all = [s05, s10, s20, late];
      try {
        const got = await store.volumes.recordsOfDeletedSpaces(3_100, 10);
        expect(got.map((r) => [r.spaceId, r.volumeId, r.spaceDeletedAt])).toEqual([
          [s05.id, `${p}-m`, 3_005],
          [s10.id, `${p}-y`, 3_010],
          [s10.id, `${p}-z`, 3_010],
          [s20.id, `${p}-a`, 3_020],
        ]);
        expect(got[0]).toEqual({ spaceId: s05.id, volumeId: `${p}-m`, type: 'csi', nomadId: `${p}-m`, createdByOperation: null, createdAt: T, spaceDeletedAt: 3_005 });
        expect((await store.volumes.recordsOfDeletedSpaces(3_100, 2)).map((r) => r.volumeId)).toEqual([`${p}-m`, `${p}-y`]);
        expect((await store.volumes.recordsOfDeletedSpaces(3_010, 10)).map((r) => r.volumeId)).toEqual([`${p}-m`]);
      } finally {
        for (const s of all) for (const v of await store.volumes.listOfSpace(s.id)) await store.volumes.forget(s.id, v.volumeId);
        await store.spaces.purgeDeleted(ids(all));
      }
    });
  });

  // ================================================================ operations
  describe('operations', () => {
    it("insert answers the operation 'pending'; get and getMany read it back", async () => {
      const spaceId = newId(T);
      const no = newOperation(spaceId, { type: 'create', reason: 'because', deadlineAt: T + 1000 });
      const op = await store.operations.insert(no, T + 2);
      expect(op).toEqual({
        id: no.id,
        spaceId,
        type: 'create',
        requestedBy: 'someone',
        status: 'pending',
        reason: 'because',
        errorType: null,
        errorMessage: null,
        workflowId: no.workflowId,
        runId: null,
        createdAt: T + 2,
        startedAt: null,
        finishedAt: null,
        deadlineAt: T + 1000,
        phaseAtBegin: null,
        jobIdAtBegin: null,
      });
      expect(await store.operations.get(no.id)).toEqual(op);
      expect(await store.operations.get(newId(T))).toBeNull();
      const other = await store.operations.insert(newOperation(spaceId), T + 3);
      expect(other.reason).toBe('');
      expect(await store.operations.getMany([op.id, other.id, newId(T)])).toEqual(
        new Map([
          [op.id, op],
          [other.id, other],
        ]),
      );
      expect(await store.operations.getMany([])).toEqual(new Map());
    });

    it('delete removes the operation', async () => {
      const spaceId = newId(T);
      const op = await store.operations.insert(newOperation(spaceId), T);
      await store.operations.delete(op.id);
      expect(await store.operations.get(op.id)).toBeNull();
      expect(await store.operations.listOfSpace(spaceId)).toEqual([]);
      expect(await store.operations.active(spaceId)).toBeNull();
      expect(await store.operations.activeSpaceIds([spaceId])).toEqual(new Set());
    });

    it("listOfSpace answers the space's operations newest first, up to the limit", async () => {
      const spaceId = newId(T);
      const o1 = await store.operations.insert(newOperation(spaceId), T + 1);
      const o2a = await store.operations.insert(newOperation(spaceId), T + 2);
      const o2b = await store.operations.insert(newOperation(spaceId), T + 2);
      const o3 = await store.operations.insert(newOperation(spaceId), T + 3);
      await store.operations.insert(newOperation(newId(T)), T + 4);
      await store.operations.finish(o1.id, { status: 'succeeded' }, T + 5);
      const [newer, older] = [o2a, o2b].sort(byId).reverse() as [Operation, Operation];
      const expected = [o3, newer, older, { ...o1, status: 'succeeded', finishedAt: T + 5 }];
      expect(await store.operations.listOfSpace(spaceId)).toEqual(expected);
      expect(await store.operations.listOfSpace(spaceId, 2)).toEqual(expected.slice(0, 2));
      expect(await store.operations.listOfSpace(newId(T))).toEqual([]);
    });

    it('active answers the newest pending or running operation, except exceptId', async () => {
      const spaceId = newId(T);
      const done = await store.operations.insert(newOperation(spaceId), T + 1);
      await store.operations.finish(done.id, { status: 'failed' }, T + 2);
      expect(await store.operations.active(spaceId)).toBeNull();
      const running = await store.operations.insert(newOperation(spaceId), T + 3);
      await store.operations.markRunning(running.id, 'run-1', T + 4);
      const pending = await store.operations.insert(newOperation(spaceId), T + 5);
      expect(await store.operations.active(spaceId)).toEqual(pending);
      expect((await store.operations.active(spaceId, pending.id))?.id).toBe(running.id);
      expect(await store.operations.active(spaceId, running.id)).toEqual(pending);
      await store.operations.finish(pending.id, { status: 'cancelled' }, T + 6);
      expect((await store.operations.active(spaceId))?.id).toBe(running.id);
      expect(await store.operations.active(spaceId, running.id)).toBeNull();
    });

    it('failNeverStarted fails only a pending operation with no run, in one step', async () => {
      const never = await store.operations.insert(newOperation(newId(T)), T);
      expect(await store.operations.failNeverStarted(never.id, 'never started', T + 1)).toBe(true);
      expect(await store.operations.get(never.id)).toEqual({ ...never, status: 'failed', errorType: 'operation_not_started', errorMessage: 'never started', finishedAt: T + 1 });
      expect(await store.operations.failNeverStarted(never.id, 'again', T + 2)).toBe(false);
      expect(await store.operations.active(never.spaceId)).toBeNull();

      // its run began after the caller looked: it stays running, untouched
      const began = await store.operations.insert(newOperation(newId(T)), T);
      await store.operations.markRunning(began.id, 'run-1', T + 1);
      expect(await store.operations.failNeverStarted(began.id, 'never started', T + 2)).toBe(false);
      expect(await store.operations.get(began.id)).toEqual({ ...began, status: 'running', runId: 'run-1', startedAt: T + 1 });

      const done = await store.operations.insert(newOperation(newId(T)), T);
      await store.operations.finish(done.id, { status: 'cancelled' }, T + 1);
      expect(await store.operations.failNeverStarted(done.id, 'never started', T + 2)).toBe(false);
      expect((await store.operations.get(done.id))?.status).toBe('cancelled');
      expect(await store.operations.failNeverStarted(newId(T), 'missing', T)).toBe(false);
    });

    it('markRunning answers true only when it moved the operation from pending; it never moves a finished one', async () => {
      const op = await store.operations.insert(newOperation(newId(T)), T);
      expect(await store.operations.markRunning(op.id, 'run-1', T + 1)).toBe(true);
      expect(await store.operations.get(op.id)).toEqual({ ...op, status: 'running', runId: 'run-1', startedAt: T + 1 });
      expect(await store.operations.markRunning(op.id, 'run-1', T + 2)).toBe(false);
      expect((await store.operations.get(op.id))?.status).toBe('running');

      await store.operations.finish(op.id, { status: 'succeeded' }, T + 3);
      const finished = await store.operations.get(op.id);
      expect(await store.operations.markRunning(op.id, 'run-2', T + 4)).toBe(false);
      expect(await store.operations.get(op.id)).toEqual(finished);

      const never = await store.operations.insert(newOperation(newId(T)), T);
      await store.operations.finish(never.id, { status: 'cancelled' }, T + 1);
      expect(await store.operations.markRunning(never.id, 'run-3', T + 2)).toBe(false);
      expect((await store.operations.get(never.id))?.status).toBe('cancelled');
      expect(await store.operations.markRunning(newId(T), 'run', T)).toBe(false);
    });

    it('markRunning records the space as the operation began, once: a later begin of the same operation never overwrites it', async () => {
      const op = await store.operations.insert(newOperation(newId(T)), T);
      expect(op).toMatchObject({ phaseAtBegin: null, jobIdAtBegin: null });
      expect(await store.operations.markRunning(op.id, 'run-1', T + 1, { phase: 'running', jobId: 'job-a' })).toBe(true);
      expect(await store.operations.get(op.id)).toMatchObject({ status: 'running', phaseAtBegin: 'running', jobIdAtBegin: 'job-a' });
      expect(await store.operations.markRunning(op.id, 'run-1', T + 2, { phase: 'stopping', jobId: null })).toBe(false);
      expect(await store.operations.get(op.id)).toMatchObject({ status: 'running', phaseAtBegin: 'running', jobIdAtBegin: 'job-a' });
      const bare = await store.operations.insert(newOperation(newId(T)), T);
      await store.operations.markRunning(bare.id, 'run-1', T + 1);
      expect(await store.operations.get(bare.id)).toMatchObject({ phaseAtBegin: null, jobIdAtBegin: null });
    });

    it('finish answers true only the first time and records the outcome', async () => {
      const op = await store.operations.insert(newOperation(newId(T)), T);
      await store.operations.markRunning(op.id, 'run-1', T + 1);
      expect(await store.operations.finish(op.id, { status: 'failed', errorType: 'start_timeout', errorMessage: 'too slow' }, T + 9)).toBe(true);
      const finished = { ...op, status: 'failed', runId: 'run-1', startedAt: T + 1, errorType: 'start_timeout', errorMessage: 'too slow', finishedAt: T + 9 };
      expect(await store.operations.get(op.id)).toEqual(finished);
      expect(await store.operations.finish(op.id, { status: 'succeeded' }, T + 10)).toBe(false);
      expect(await store.operations.get(op.id)).toEqual(finished);

      const pending = await store.operations.insert(newOperation(newId(T)), T);
      expect(await store.operations.finish(pending.id, { status: 'succeeded' }, T + 2)).toBe(true);
      expect(await store.operations.get(pending.id)).toEqual({ ...pending, status: 'succeeded', errorType: null, errorMessage: null, finishedAt: T + 2 });
      expect(await store.operations.finish(newId(T), { status: 'succeeded' }, T)).toBe(false);
    });

    it('activeSpaceIds answers the spaces with an operation pending or running', async () => {
      const [pendingSpace, runningSpace, doneSpace, emptySpace] = [newId(T), newId(T), newId(T), newId(T)];
      await store.operations.insert(newOperation(pendingSpace), T);
      const r = await store.operations.insert(newOperation(runningSpace), T);
      await store.operations.markRunning(r.id, 'run', T + 1);
      const d = await store.operations.insert(newOperation(doneSpace), T);
      await store.operations.finish(d.id, { status: 'succeeded' }, T + 1);
      expect(await store.operations.activeSpaceIds([pendingSpace, runningSpace, doneSpace, emptySpace])).toEqual(new Set([pendingSpace, runningSpace]));
      expect(await store.operations.activeSpaceIds([])).toEqual(new Set());
    });

    it('listOverdue pages through pending and running operations past their deadline in (deadlineAt, id) order', async () => {
      // deadlines far below every other test's
      const mk = async (deadlineAt: number | null, state: 'pending' | 'running' | 'finished') => {
        const op = await store.operations.insert(newOperation(newId(T), { deadlineAt }), T);
        if (state !== 'pending') await store.operations.markRunning(op.id, 'run', T + 1);
        if (state === 'finished') await store.operations.finish(op.id, { status: 'succeeded' }, T + 2);
        return (await store.operations.get(op.id)) as Operation;
      };
      const overdue = [
        await mk(7_010, 'pending'),
        await mk(7_005, 'running'),
        await mk(7_010, 'running'),
        await mk(7_010, 'pending'),
        await mk(7_001, 'pending'),
        await mk(7_020, 'running'),
      ];
      await mk(7_003, 'finished');
      await mk(null, 'pending');
      const notYet = await mk(7_050, 'pending');
      const expected = overdue.sort((a, b) => (a.deadlineAt as number) - (b.deadlineAt as number) || byId(a, b));

      expect(await store.operations.listOverdue(7_050, null, 100)).toEqual(expected);
      expect(await store.operations.listOverdue(7_051, null, 100)).toEqual([...expected, notYet]);
      expect(await store.operations.listOverdue(7_010, null, 100)).toEqual(expected.filter((o) => (o.deadlineAt as number) < 7_010));
      const paged: Operation[] = [];
      let after: { deadlineAt: number; id: string } | null = null;
      for (let i = 0; i < 100; i++) {
        const page: Operation[] = await store.operations.listOverdue(7_050, after, 2);
        expect(page.length).toBeLessThanOrEqual(2);
        paged.push(...page);
        const last = page[page.length - 1];
        if (!last) break;
        after = { deadlineAt: last.deadlineAt as number, id: last.id };
      }
      expect(paged).toEqual(expected);
      for (const op of [...expected, notYet]) await store.operations.finish(op.id, { status: 'cancelled' }, T + 3);
      expect(await store.operations.listOverdue(7_051, null, 100)).toEqual([]);
    });

    it('listNeverStarted pages through pending operations without a run created before a time, in (createdAt, id) order', async () => {
      // created far below every other test's operations
      const mk = async (createdAt: number, state: 'pending' | 'running' | 'finished' | 'finished-unstarted') => {
        const op = await store.operations.insert(newOperation(newId(T), { deadlineAt: T }), createdAt);
        if (state === 'running' || state === 'finished') await store.operations.markRunning(op.id, 'run', createdAt + 1);
        if (state === 'finished' || state === 'finished-unstarted') await store.operations.finish(op.id, { status: 'failed' }, createdAt + 2);
        return (await store.operations.get(op.id)) as Operation;
      };
      const neverStarted = [await mk(5_010, 'pending'), await mk(5_005, 'pending'), await mk(5_010, 'pending'), await mk(5_001, 'pending'), await mk(5_020, 'pending')];
      await mk(5_002, 'running');
      await mk(5_003, 'finished');
      await mk(5_004, 'finished-unstarted');
      const young = await mk(5_050, 'pending');
      const expected = neverStarted.sort((a, b) => a.createdAt - b.createdAt || byId(a, b));

      expect(await store.operations.listNeverStarted(5_050, null, 100)).toEqual(expected);
      expect(await store.operations.listNeverStarted(5_051, null, 100)).toEqual([...expected, young]);
      expect(await store.operations.listNeverStarted(5_010, null, 100)).toEqual(expected.filter((o) => o.createdAt < 5_010));
      expect(await store.operations.listNeverStarted(5_050, null, 2)).toEqual(expected.slice(0, 2));
      const paged: Operation[] = [];
      let after: { createdAt: number; id: string } | null = null;
      for (let i = 0; i < 100; i++) {
        const page: Operation[] = await store.operations.listNeverStarted(5_050, after, 2);
        expect(page.length).toBeLessThanOrEqual(2);
        paged.push(...page);
        const last = page[page.length - 1];
        if (!last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(paged).toEqual(expected);

      // a run recorded, a row finished or deleted: out of the list
      const [started, finished, deleted] = expected;
      await store.operations.markRunning(started!.id, 'run', 5_100);
      await store.operations.finish(finished!.id, { status: 'failed', errorType: 'operation_not_started' }, 5_100);
      await store.operations.delete(deleted!.id);
      expect(await store.operations.listNeverStarted(5_051, null, 100)).toEqual([...expected.slice(3), young]);
      for (const op of [...expected, young]) await store.operations.finish(op.id, { status: 'cancelled' }, 5_200);
      expect(await store.operations.listNeverStarted(5_051, null, 100)).toEqual([]);
    });
  });

  // ================================================================ steps
  describe('steps', () => {
    it('start opens a step once; a second start of the same name answers false', async () => {
      const op = newId(T);
      expect(await store.steps.start(op, 'render', T)).toBe(true);
      expect(await store.steps.start(op, 'render', T + 5)).toBe(false);
      expect(await store.steps.list(op)).toEqual([{ seq: 1, name: 'render', startedAt: T, finishedAt: null, outcome: 'running', message: null }]);
    });

    it('start closes a step still open as closeOpenAs, and numbers the steps in order', async () => {
      const op = newId(T);
      await store.steps.start(op, 'a', T);
      await store.steps.start(op, 'b', T + 10);
      await store.steps.start(op, 'c', T + 20, 'cancelled');
      expect(await store.steps.list(op)).toEqual([
        { seq: 1, name: 'a', startedAt: T, finishedAt: T + 10, outcome: 'failed', message: null },
        { seq: 2, name: 'b', startedAt: T + 10, finishedAt: T + 20, outcome: 'cancelled', message: null },
        { seq: 3, name: 'c', startedAt: T + 20, finishedAt: null, outcome: 'running', message: null },
      ]);
    });

    it('finish closes an open step and answers its duration; null when it was closed already', async () => {
      const op = newId(T);
      await store.steps.start(op, 'a', T + 100);
      expect(await store.steps.finish(op, 'a', 'succeeded', T + 130, 'done')).toBe(30);
      expect(await store.steps.list(op)).toEqual([{ seq: 1, name: 'a', startedAt: T + 100, finishedAt: T + 130, outcome: 'succeeded', message: 'done' }]);
      expect(await store.steps.finish(op, 'a', 'failed', T + 140)).toBeNull();
      expect(await store.steps.finish(op, 'missing', 'failed', T + 140)).toBeNull();
      await store.steps.start(op, 'b', T + 200);
      expect(await store.steps.finish(op, 'b', 'failed', T + 201)).toBe(1);
      expect((await store.steps.list(op))[1]).toEqual({ seq: 2, name: 'b', startedAt: T + 200, finishedAt: T + 201, outcome: 'failed', message: null });
      expect((await store.steps.list(op))[0]?.outcome).toBe('succeeded');
    });

    it('closeOpen closes whatever step is still open and leaves closed ones alone', async () => {
      const op = newId(T);
      await store.steps.start(op, 'a', T);
      await store.steps.finish(op, 'a', 'succeeded', T + 1);
      await store.steps.start(op, 'b', T + 2);
      await store.steps.closeOpen(op, 'cancelled', T + 9, 'the operation ended');
      const closed = [
        { seq: 1, name: 'a', startedAt: T, finishedAt: T + 1, outcome: 'succeeded', message: null },
        { seq: 2, name: 'b', startedAt: T + 2, finishedAt: T + 9, outcome: 'cancelled', message: 'the operation ended' },
      ];
      expect(await store.steps.list(op)).toEqual(closed);
      await store.steps.closeOpen(op, 'failed', T + 20);
      expect(await store.steps.list(op)).toEqual(closed);
      expect(await store.steps.list(newId(T))).toEqual([]);
    });
  });

  // ================================================================ events
  describe('events', () => {
    const newest = async () => (await store.events.bounds()).newestId ?? 0;

    async function spaceWithOperation() {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const op = await store.operations.insert(newOperation(s.id, { type: 'start' }), T);
      await store.spaces.update(s.id, { phase: 'starting', lastOperationId: op.id }, T);
      return { owner, s: (await store.spaces.get(s.id)) as Space, op };
    }

    it('a space.agent event carries the agent status', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const base = (await store.events.bounds()).newestId ?? 0;
      const agent = { state: 'disconnected' as const, since: new Date(T).toISOString(), version: '1.0.0', services: {}, sessions: 0, lastSeen: null, lastActivity: null, connected: false };
      await store.events.append({ type: 'space.agent', spaceId: s.id, agent }, T + 1);
      const got = (await store.events.after(base, { limit: 1000 })).filter((e) => e.event.spaceId === s.id);
      expect(got.map((e) => [e.event.type, e.event.agent])).toEqual([['space.agent', agent]]);
    });

    it("append carries the space's and the operation's facts as stored", async () => {
      const { owner, s, op } = await spaceWithOperation();
      const base = await newest();
      await store.events.append({ type: 'space.phase', spaceId: s.id }, T + 1);
      await store.events.append(
        { type: 'operation.step', spaceId: s.id, operationId: null, step: 'render', stepStatus: 'succeeded', durationMs: 12, updateAvailable: true, error: { type: 'x', message: 'y' } },
        T + 2,
      );
      const other = await store.operations.insert(newOperation(s.id, { type: 'stop' }), T);
      await store.events.append({ type: 'operation.finished', spaceId: s.id, operationId: other.id }, T + 3);
      const missing = newId(T);
      await store.events.append({ type: 'space.deleted', spaceId: missing }, T + 4);

      const got = await store.events.after(base, { limit: 100 });
      expect(got).toHaveLength(4);
      const [e1, e2, e3, e4] = got as [StoredEvent, StoredEvent, StoredEvent, StoredEvent];
      const none = { step: null, stepStatus: null, durationMs: null, updateAvailable: null, error: null, agent: null };
      expect(e1).toEqual({
        id: e1.id,
        ownerId: owner.id,
        event: { id: e1.id, at: new Date(T + 1).toISOString(), type: 'space.phase', spaceId: s.id, spaceName: s.name, operationId: op.id, operationType: 'start', phase: 'starting', status: 'pending', ...none },
      });
      expect(e2).toEqual({
        id: e2.id,
        ownerId: owner.id,
        event: {
          id: e2.id,
          at: new Date(T + 2).toISOString(),
          type: 'operation.step',
          spaceId: s.id,
          spaceName: s.name,
          operationId: null,
          operationType: null,
          phase: 'starting',
          status: null,
          step: 'render',
          stepStatus: 'succeeded',
          durationMs: 12,
          updateAvailable: true,
          error: { type: 'x', message: 'y' },
          agent: null,
        },
      });
      expect(e3.event).toMatchObject({ type: 'operation.finished', operationId: other.id, operationType: 'stop', status: 'pending', phase: 'starting' });
      expect(e4).toEqual({
        id: e4.id,
        ownerId: null,
        event: { id: e4.id, at: new Date(T + 4).toISOString(), type: 'space.deleted', spaceId: missing, spaceName: null, operationId: null, operationType: null, phase: null, status: null, ...none },
      });
    });

    it('append inside a transaction carries what the transaction wrote before it', async () => {
      const { s, op } = await spaceWithOperation();
      const base = await newest();
      await store.transaction(async (tx) => {
        await tx.spaces.update(s.id, { phase: 'running', startedAt: T + 5 }, T + 5);
        await tx.operations.markRunning(op.id, 'run-1', T + 5);
        await tx.events.append({ type: 'space.phase', spaceId: s.id }, T + 5);
        await tx.operations.finish(op.id, { status: 'succeeded' }, T + 6);
        await tx.events.append({ type: 'operation.finished', spaceId: s.id }, T + 6);
      });
      const got = await store.events.after(base, { limit: 100 });
      expect(got.map((e) => [e.event.type, e.event.phase, e.event.status, e.event.operationId])).toEqual([
        ['space.phase', 'running', 'running', op.id],
        ['operation.finished', 'running', 'succeeded', op.id],
      ]);
    });

    it('after answers events after afterId, up to upTo, of one owner, ascending, limited; sequential ids are contiguous', async () => {
      const a = await spaceWithOperation();
      const b = await spaceWithOperation();
      const base = await newest();
      const who = [a, b, a, a, b, a];
      for (const [i, x] of who.entries()) await store.events.append({ type: 'space.phase', spaceId: x.s.id }, T + i);
      const all = await store.events.after(base, { limit: 100 });
      expect(all.map((e) => e.event.spaceId)).toEqual(who.map((x) => x.s.id));
      const eventIds = all.map((e) => e.id);
      for (let i = 1; i < eventIds.length; i++) expect(eventIds[i]).toBe((eventIds[i - 1] as number) + 1);
      expect(all.every((e) => e.event.id === e.id)).toBe(true);
      const [i0, , i2, i3] = eventIds as [number, number, number, number];

      expect((await store.events.after(base, { limit: 2 })).map((e) => e.id)).toEqual(eventIds.slice(0, 2));
      expect((await store.events.after(i2, { limit: 100 })).map((e) => e.id)).toEqual(eventIds.slice(3));
      expect((await store.events.after(base, { limit: 100, upTo: i3 })).map((e) => e.id)).toEqual(eventIds.slice(0, 4));
      expect((await store.events.after(i0, { limit: 100, upTo: i0 })).map((e) => e.id)).toEqual([]);
      const ofA = all.filter((e) => e.ownerId === a.owner.id);
      expect(ofA.map((e) => e.event.spaceId)).toEqual([a.s.id, a.s.id, a.s.id, a.s.id]);
      expect(await store.events.after(base, { limit: 100, ownerId: a.owner.id })).toEqual(ofA);
      expect(await store.events.after(base, { limit: 2, ownerId: a.owner.id })).toEqual(ofA.slice(0, 2));
      expect(await store.events.after(base, { limit: 100, ownerId: b.owner.id, upTo: i3 })).toEqual(all.filter((e) => e.ownerId === b.owner.id && e.id <= i3));
      expect(await store.events.after(base, { limit: 100, ownerId: newId(T) })).toEqual([]);
      const last = eventIds[eventIds.length - 1] as number;
      expect(await store.events.after(last, { limit: 100 })).toEqual([]);
    });

    it('bounds answers the oldest and the newest id', async () => {
      const { s } = await spaceWithOperation();
      await store.events.append({ type: 'space.phase', spaceId: s.id }, T);
      const [appended] = await store.events.after((await newest()) - 1, { limit: 1 });
      const bounds = await store.events.bounds();
      expect(bounds.newestId).toBe(appended?.id);
      expect(bounds.oldestId).not.toBeNull();
      expect(bounds.oldestId as number).toBeLessThanOrEqual(bounds.newestId as number);
      expect((await store.events.after((bounds.oldestId as number) - 1, { limit: 1 }))[0]?.id).toBe(bounds.oldestId);
    });

    it('prune drops the events past the retention and bounds moves', async () => {
      const { s } = await spaceWithOperation();
      try {
        for (let i = 0; i < 4; i++) await store.events.append({ type: 'space.phase', spaceId: s.id }, T + i);
        const last = await newest();
        store.events.setRetention(2);
        const older = (await store.events.after(0, { limit: 1_000_000, upTo: last - 2 })).length;
        expect(older).toBeGreaterThanOrEqual(2);
        expect(await store.events.prune()).toBe(older);
        expect(await store.events.bounds()).toEqual({ oldestId: last - 1, newestId: last });
        expect((await store.events.after(0, { limit: 100 })).map((e) => e.id)).toEqual([last - 1, last]);
        expect(await store.events.prune()).toBe(0);
      } finally {
        store.events.setRetention(DEFAULT_EVENT_RETENTION);
      }
    });
  });

  // ================================================================ audit
  describe('audit', () => {
    it('list answers the entries newest first, as appended', async () => {
      const actor = unique('actor');
      const entries = [
        auditEntry({ actor, at: T + 1, actorId: newId(T), action: 'space.create', resourceType: 'space', outcome: 'ok' }),
        auditEntry({ actor, at: T + 2, action: 'space.delete', resourceType: 'space', outcome: 'refused' }),
        auditEntry({ actor, at: T + 3, action: 'user.update', resourceType: 'user', resourceId: null, outcome: 'failed', detail: { reason: 'x', nested: { list: [1, 2] } } }),
      ];
      for (const e of entries) await store.audit.append(e);
      const got = await store.audit.list({ actor, limit: 10 });
      expect(got.map(({ id: _id, ...rest }) => rest)).toEqual([...entries].reverse());
      const auditIds = got.map((e) => e.id);
      expect(auditIds.every((id) => Number.isInteger(id))).toBe(true);
      expect(auditIds).toEqual([...auditIds].sort((x, y) => y - x));
      expect(new Set(auditIds).size).toBe(3);
    });

    it('list filters by actor, action, resource type, resource id, outcome, since, until and beforeId, with a limit', async () => {
      const actor = unique('actor');
      const action = `${unique('act')}.do`;
      const resourceType = unique('rt');
      const resourceId = newId(T);
      // a time window no other test uses
      const W = Date.parse('2081-01-01T00:00:00Z');
      const e1 = auditEntry({ actor, action, at: W + 1, outcome: 'ok' });
      const e2 = auditEntry({ actor, at: W + 2, resourceType, outcome: 'refused' });
      const e3 = auditEntry({ actor, at: W + 3, resourceType, resourceId, outcome: 'ok' });
      const e4 = auditEntry({ actor, action, at: W + 4, outcome: 'failed' });
      for (const e of [e1, e2, e3, e4]) await store.audit.append(e);
      const all = await store.audit.list({ actor, limit: 10 });
      const [a4, a3, a2, a1] = all as [typeof all[number], typeof all[number], typeof all[number], typeof all[number]];
      expect([a1.at, a2.at, a3.at, a4.at]).toEqual([W + 1, W + 2, W + 3, W + 4]);

      expect(await store.audit.list({ action, limit: 10 })).toEqual([a4, a1]);
      expect(await store.audit.list({ resourceType, limit: 10 })).toEqual([a3, a2]);
      expect(await store.audit.list({ resourceId, limit: 10 })).toEqual([a3]);
      expect(await store.audit.list({ actor, outcome: 'ok', limit: 10 })).toEqual([a3, a1]);
      expect(await store.audit.list({ actor, outcome: 'refused', limit: 10 })).toEqual([a2]);
      expect(await store.audit.list({ since: W + 2, limit: 10 })).toEqual([a4, a3, a2]);
      expect(await store.audit.list({ since: W + 2, until: W + 4, limit: 10 })).toEqual([a3, a2]);
      expect(await store.audit.list({ actor, until: W + 2, limit: 10 })).toEqual([a1]);
      expect(await store.audit.list({ actor, beforeId: a3.id, limit: 10 })).toEqual([a2, a1]);
      expect(await store.audit.list({ actor, limit: 2 })).toEqual([a4, a3]);
      expect(await store.audit.list({ actor, beforeId: a3.id, limit: 1 })).toEqual([a2]);
      expect(await store.audit.list({ action, resourceType, limit: 10 })).toEqual([]);
      expect(await store.audit.list({ actor: unique('nobody'), limit: 10 })).toEqual([]);
    });

    it('pruneBefore drops the entries recorded before the time and answers how many', async () => {
      const actor = unique('actor');
      // times far below every other test's
      for (const at of [100, 200, 300]) await store.audit.append(auditEntry({ actor, at }));
      expect(await store.audit.pruneBefore(250)).toBe(2);
      expect((await store.audit.list({ actor, limit: 10 })).map((e) => e.at)).toEqual([300]);
      expect(await store.audit.pruneBefore(250)).toBe(0);
      expect(await store.audit.pruneBefore(301)).toBe(1);
      expect(await store.audit.list({ actor, limit: 10 })).toEqual([]);
    });
  });

  // ================================================================ agent state
  describe('agent state', () => {
    const TTL = 600_000;
    const record = (over: Record<string, unknown> = {}) => ({ connected: true, since: null, lastActivity: null, services: {}, version: null, sessions: 0, ...over });

    it('report, refresh, get, getMany and forget', async () => {
      const agents = store.agentState(TTL);
      const [a, b, missing] = [newId(T), newId(T), newId(T)];
      const now = Date.now();
      expect(await agents.get(a)).toBeNull();
      await agents.report(a, { services: { ssh: true, ports: [8080, 3000] }, lastActivity: now - 1000, version: '0.9.0', sessions: 1 }, now);
      expect(await agents.get(a)).toEqual(record({ lastSeen: now, since: now, lastActivity: now - 1000, services: { ssh: true, ports: [8080, 3000] }, version: '0.9.0', sessions: 1 }));
      // a refresh keeps `since` and the last activity; services, version and sessions are replaced
      await agents.report(a, { services: { terminal: true } }, now + 1);
      expect(await agents.get(a)).toEqual(record({ lastSeen: now + 1, since: now, lastActivity: now - 1000, services: { terminal: true } }));
      // the holder may say when its link came up
      await agents.report(b, { services: {}, since: now - 50 }, now);
      expect(await agents.get(b)).toEqual(record({ lastSeen: now, since: now - 50 }));

      const many = await agents.getMany([a, b, missing]);
      expect(new Set(many.keys())).toEqual(new Set([a, b]));
      expect(many.get(a)).toEqual(await agents.get(a));
      expect(await agents.getMany([])).toEqual(new Map());

      await agents.forget([a, missing]);
      expect(await agents.get(a)).toBeNull();
      expect(new Set((await agents.getMany([a, b])).keys())).toEqual(new Set([b]));
      await agents.close();
    });

    it('lastActivity never goes back', async () => {
      const agents = store.agentState(TTL);
      const a = newId(T);
      const now = Date.now();
      await agents.report(a, { services: {}, lastActivity: now - 10 }, now);
      await agents.report(a, { services: {}, lastActivity: now - 5000 }, now + 1);
      await agents.report(a, { services: {}, lastActivity: null }, now + 2);
      expect((await agents.get(a))?.lastActivity).toBe(now - 10);
      await agents.report(a, { services: {}, lastActivity: now + 1 }, now + 3);
      expect((await agents.get(a))?.lastActivity).toBe(now + 1);
      await agents.forget([a]);
    });

    it('a record not refreshed within the TTL reads as disconnected since it expired, and is kept', async () => {
      let clock = Date.now();
      const agents = store.agentState(TTL, () => clock);
      const a = newId(T);
      const t0 = clock;
      await agents.report(a, { services: { ssh: true }, lastActivity: t0 - 7, version: '1.0.0', sessions: 3 }, t0);
      clock = t0 + TTL - 1;
      expect((await agents.get(a))?.connected).toBe(true);
      clock = t0 + TTL + 1;
      const expired = record({ connected: false, lastSeen: t0, since: t0 + TTL, lastActivity: t0 - 7, version: '1.0.0' });
      expect(await agents.get(a)).toEqual(expired);
      expect((await agents.getMany([a])).get(a)).toEqual(expired);
      // the next link starts its own `since`
      await agents.report(a, { services: {} }, clock);
      expect(await agents.get(a)).toMatchObject({ connected: true, since: clock, lastActivity: t0 - 7 });
      await agents.forget([a]);
    });

    it('disconnected: down since now, no services or sessions, lastActivity and version kept; no record, nothing', async () => {
      let clock = Date.now();
      const agents = store.agentState(TTL, () => clock);
      const [a, none] = [newId(T), newId(T)];
      const t0 = clock;
      await agents.report(a, { services: { terminal: true, ports: [22] }, lastActivity: t0 - 3, version: '2.1.0', sessions: 2 }, t0);
      clock = t0 + 100;
      await agents.disconnected(a, clock);
      const down = record({ connected: false, lastSeen: t0, since: t0 + 100, lastActivity: t0 - 3, version: '2.1.0' });
      expect(await agents.get(a)).toEqual(down);
      // long past the TTL it is still the same record: `since` survives
      clock = t0 + 10 * TTL;
      expect(await agents.get(a)).toEqual(down);
      await agents.disconnected(none, clock);
      expect(await agents.get(none)).toBeNull();
      await agents.forget([a]);
    });
  });

  // ================================================================ agent tokens
  describe('agent tokens', () => {
    const agentToken = (spaceId: string, kind: 'start' | 'manual' = 'start') => ({ id: newId(T), spaceId, kind, tokenHash: sha256(hex(16)) });

    it('issue, find by hash, replace the same kind only, revoke', async () => {
      const spaceA = newId(T);
      const spaceB = newId(T);
      const start1 = agentToken(spaceA);
      expect(await store.agentTokens.issue(start1, T)).toEqual({ id: start1.id, spaceId: spaceA, kind: 'start', createdAt: T });
      expect(await store.agentTokens.findByHash(start1.tokenHash)).toEqual({ id: start1.id, spaceId: spaceA, kind: 'start', createdAt: T });
      expect(await store.agentTokens.findByHash(sha256('never issued'))).toBeNull();

      const manual = agentToken(spaceA, 'manual');
      await store.agentTokens.issue(manual, T + 1);
      const other = agentToken(spaceB);
      await store.agentTokens.issue(other, T + 1);
      // a new start token replaces the earlier start token, and nothing else
      const start2 = agentToken(spaceA);
      await store.agentTokens.issue(start2, T + 2);
      expect(await store.agentTokens.findByHash(start1.tokenHash)).toBeNull();
      expect((await store.agentTokens.findByHash(start2.tokenHash))?.createdAt).toBe(T + 2);
      expect((await store.agentTokens.findByHash(manual.tokenHash))?.kind).toBe('manual');
      expect((await store.agentTokens.findByHash(other.tokenHash))?.spaceId).toBe(spaceB);

      expect(await store.agentTokens.revokeForSpace(spaceA, 'start')).toBe(1);
      expect(await store.agentTokens.revokeForSpace(spaceA, 'start')).toBe(0);
      expect(await store.agentTokens.findByHash(start2.tokenHash)).toBeNull();
      expect(await store.agentTokens.findByHash(manual.tokenHash)).not.toBeNull();
      await store.agentTokens.issue(agentToken(spaceA), T + 3);
      expect(await store.agentTokens.revokeForSpace(spaceA)).toBe(2);
      expect(await store.agentTokens.findByHash(manual.tokenHash)).toBeNull();
      expect(await store.agentTokens.findByHash(other.tokenHash)).not.toBeNull();
      expect(await store.agentTokens.revokeForSpace(newId(T))).toBe(0);
    });

    it('a hash already issued is a conflict, and the earlier token stays', async () => {
      const first = agentToken(newId(T));
      await store.agentTokens.issue(first, T);
      await expectConflict(store.agentTokens.issue({ ...agentToken(newId(T)), tokenHash: first.tokenHash }, T + 1), 'tokenHash');
      await expectConflict(store.agentTokens.issue({ ...agentToken(first.spaceId), tokenHash: first.tokenHash }, T + 1), 'tokenHash');
      expect((await store.agentTokens.findByHash(first.tokenHash))?.id).toBe(first.id);
    });

    it('stores only the hash of an agent token', async () => {
      const secret = `knot_agent_${hex(24)}`;
      await store.agentTokens.issue({ id: newId(T), spaceId: newId(T), kind: 'manual', tokenHash: sha256(secret) }, T);
      const dump = await t.rawDump();
      expect(dump).toContain(sha256(secret));
      expect(dump).not.toContain(secret);
    });

    it('a purged deleted space takes its tokens with it', async () => {
      const { owner, template } = await ownerAndTemplate();
      const gone = await deletedSpace(owner.id, template.id, T);
      const token = agentToken(gone.id, 'manual');
      await store.agentTokens.issue(token, T);
      await store.spaces.purgeDeleted([gone.id]);
      expect(await store.agentTokens.findByHash(token.tokenHash)).toBeNull();
    });
  });

  // ================================================================ ssh keys
  describe('ssh keys', () => {
    it('insert answers the key; listOfUser answers the user\'s keys oldest first, ties by id', async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const late = newSshKey(u.id);
      expect(await store.sshKeys.insert(late, T + 2)).toEqual({ ...late, createdAt: T + 2 });
      const [a, b] = [newSshKey(u.id), newSshKey(u.id)].sort(byId) as [NewSshKey, NewSshKey];
      await store.sshKeys.insert(b, T);
      await store.sshKeys.insert(a, T);
      await store.sshKeys.insert(newSshKey(other.id), T);
      expect(await store.sshKeys.listOfUser(u.id)).toEqual([
        { ...a, createdAt: T },
        { ...b, createdAt: T },
        { ...late, createdAt: T + 2 },
      ]);
      expect(await store.sshKeys.listOfUser(newId(T))).toEqual([]);
    });

    it('listOfUsers groups the keys by user, oldest first; users without keys are absent', async () => {
      const [u, v, none] = await Promise.all([store.users.insert(newUser(), T), store.users.insert(newUser(), T), store.users.insert(newUser(), T)]);
      const u2 = await store.sshKeys.insert(newSshKey(u!.id), T + 1);
      const u1 = await store.sshKeys.insert(newSshKey(u!.id), T);
      const v1 = await store.sshKeys.insert(newSshKey(v!.id), T);
      const byUser = await store.sshKeys.listOfUsers([u!.id, v!.id, none!.id, u!.id]);
      expect([...byUser.keys()].sort()).toEqual([u!.id, v!.id].sort());
      expect(byUser.get(u!.id)).toEqual([u1, u2]);
      expect(byUser.get(v!.id)).toEqual([v1]);
      expect(await store.sshKeys.listOfUsers([])).toEqual(new Map());
    });

    it("a key already on the user is a conflict naming 'publicKey'; another user may add it", async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const k = await store.sshKeys.insert(newSshKey(u.id), T);
      await expectConflict(store.sshKeys.insert(newSshKey(u.id, { fingerprint: k.fingerprint, publicKey: k.publicKey }), T + 1), 'publicKey');
      await expectConflict(store.sshKeys.insert(newSshKey(other.id, { id: k.id }), T + 1), 'id');
      expect(await store.sshKeys.listOfUser(u.id)).toEqual([k]);
      await store.sshKeys.insert(newSshKey(other.id, { fingerprint: k.fingerprint, publicKey: k.publicKey }), T + 1);
      expect((await store.sshKeys.listOfUser(other.id)).map((x) => x.fingerprint)).toEqual([k.fingerprint]);
    });

    it('two writers adding the same key to a user: exactly one wins', async () => {
      const u = await store.users.insert(newUser(), T);
      const same = newSshKey(u.id);
      await exactlyOneWins(5, () => store.sshKeys.insert({ ...same, id: newId(T) }, T), 'publicKey');
      expect(await store.sshKeys.listOfUser(u.id)).toHaveLength(1);
    });

    it("delete answers true when it deleted the user's key, false otherwise, and frees the fingerprint", async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const k = await store.sshKeys.insert(newSshKey(u.id), T);
      const kept = await store.sshKeys.insert(newSshKey(u.id), T + 1);
      expect(await store.sshKeys.delete(other.id, k.id)).toBe(false);
      expect(await store.sshKeys.delete(u.id, newId(T))).toBe(false);
      expect(await store.sshKeys.delete(u.id, k.id)).toBe(true);
      expect(await store.sshKeys.delete(u.id, k.id)).toBe(false);
      expect(await store.sshKeys.listOfUser(u.id)).toEqual([kept]);
      await store.sshKeys.insert(newSshKey(u.id, { fingerprint: k.fingerprint }), T + 2);
      expect(await store.sshKeys.listOfUser(u.id)).toHaveLength(2);
    });

    it("deleting a user removes the user's keys and only theirs", async () => {
      const u = await store.users.insert(newUser(), T);
      const other = await store.users.insert(newUser(), T);
      const k = await store.sshKeys.insert(newSshKey(u.id), T);
      const theirs = await store.sshKeys.insert(newSshKey(other.id, { fingerprint: k.fingerprint }), T);
      await store.users.delete(u.id);
      expect(await store.sshKeys.listOfUser(u.id)).toEqual([]);
      expect(await store.sshKeys.listOfUsers([u.id, other.id])).toEqual(new Map([[other.id, [theirs]]]));
      expect(await t.rawDump()).not.toContain(k.publicKey);
    });

    it('a failed transaction adds no key', async () => {
      const u = await store.users.insert(newUser(), T);
      const k = newSshKey(u.id);
      await rejection(
        store.transaction(async (tx) => {
          await tx.sshKeys.insert(k, T);
          throw new Error('changed my mind');
        }),
      );
      expect(await store.sshKeys.listOfUser(u.id)).toEqual([]);
      await store.sshKeys.insert(k, T);
    });
  });

  // ================================================================ transactions
  describe('transaction', () => {
    it('commits every write together and answers what the work returned', async () => {
      const actor = unique('actor');
      const base = (await store.events.bounds()).newestId ?? 0;
      const nu = newUser();
      const result = await store.transaction(async (tx) => {
        const u = await tx.users.insert(nu, T);
        const tpl = await insertTemplate(tx, T);
        const s = await tx.spaces.insert(newSpace(u.id, tpl.id), T);
        const op = await tx.operations.insert(newOperation(s.id), T);
        await tx.spaces.update(s.id, { lastOperationId: op.id, phase: 'starting' }, T);
        await tx.steps.start(op.id, 'render', T);
        await tx.events.append({ type: 'space.phase', spaceId: s.id }, T);
        await tx.audit.append(auditEntry({ actor, resourceId: s.id }));
        return { spaceId: s.id, operationId: op.id, templateId: tpl.id, answer: 42 };
      });
      expect(result.answer).toBe(42);
      expect(await store.users.get(nu.id)).toMatchObject({ username: nu.username });
      expect(await store.templates.get(result.templateId)).not.toBeNull();
      expect(await store.spaces.get(result.spaceId)).toMatchObject({ phase: 'starting', lastOperationId: result.operationId, ownerId: nu.id });
      expect((await store.operations.get(result.operationId))?.status).toBe('pending');
      expect((await store.steps.list(result.operationId)).map((s) => s.name)).toEqual(['render']);
      const events = (await store.events.after(base, { limit: 100 })).filter((e) => e.event.spaceId === result.spaceId);
      expect(events.map((e) => [e.event.phase, e.event.operationId])).toEqual([['starting', result.operationId]]);
      expect((await store.audit.list({ actor, limit: 10 })).map((e) => e.resourceId)).toEqual([result.spaceId]);
    });

    it('a throw inside rolls every write back, in every repository, and the error comes out', async () => {
      const { owner, template } = await ownerAndTemplate();
      const existing = await space(owner.id, template.id);
      const actor = unique('actor');
      const base = (await store.events.bounds()).newestId ?? 0;
      const nu = newUser();
      const ng = newGroup();
      const token = newToken(owner.id);
      const session = newSession(owner.id, T + 100_000);
      const tplId = newId(T);
      const variable = unique('VAR_');
      const ns = newSpace(owner.id, template.id);
      const no = newOperation(existing.id);
      const volumeId = unique('vol');
      const keptAgentToken = sha256(hex(16));
      const kept = await store.agentTokens.issue({ id: newId(T), spaceId: existing.id, kind: 'start', tokenHash: keptAgentToken }, T);
      const agentTokenHash = sha256(hex(16));
      const boom = new Error('boom');

      const thrown = await rejection(
        store.transaction(async (tx) => {
          await tx.users.insert(nu, T);
          await tx.users.update(owner.id, { email: 'changed@example.com' }, T + 1);
          await tx.users.setPasswordHash(owner.id, 'phc', T + 1);
          await tx.groups.insert({ ...ng, memberIds: [owner.id] }, T);
          await tx.tokens.insert(token, T);
          await tx.sessions.insert(session, T);
          await tx.templates.insert(tplId, meta(unique('t')), version('1.0.0'), T);
          await tx.templates.addVersion(template.id, '1.0.0', meta(template.name), version('1.1.0'), T + 1);
          await tx.variables.insert({ id: newId(T), name: variable, value: 'x', protected: false }, T);
          await tx.spaces.insert(ns, T);
          await tx.spaces.update(existing.id, { phase: 'starting', lastOperationId: no.id }, T + 1);
          await tx.operations.insert(no, T);
          await tx.steps.start(no.id, 'render', T);
          await tx.volumes.record({ spaceId: existing.id, volumeId, type: 'csi', nomadId: volumeId, createdByOperation: no.id }, T);
          await tx.events.append({ type: 'space.phase', spaceId: existing.id }, T + 1);
          await tx.audit.append(auditEntry({ actor }));
          await tx.agentTokens.issue({ id: newId(T), spaceId: existing.id, kind: 'start', tokenHash: agentTokenHash }, T + 1);
          await tx.agentTokens.revokeForSpace(existing.id, 'manual');
          throw boom;
        }),
      );

      expect(thrown).toBe(boom);
      expect(await store.users.get(nu.id)).toBeNull();
      expect(await store.users.get(owner.id)).toEqual(owner);
      expect(await store.users.getPasswordHash(owner.id)).toBeNull();
      expect(await store.groups.get(ng.id)).toBeNull();
      expect(await store.groups.namesOfUser(owner.id)).toEqual([]);
      expect(await store.tokens.get(token.id)).toBeNull();
      expect(await store.tokens.findUsableByHash(token.tokenHash, T + 1)).toBeNull();
      expect(await store.sessions.get(session.id)).toBeNull();
      expect(await store.templates.get(tplId)).toBeNull();
      expect(await store.templates.get(template.id)).toEqual(template);
      expect((await store.templates.listVersions(template.id)).map((v) => v.version)).toEqual(['1.0.0']);
      expect(await store.variables.get(variable)).toBeNull();
      expect(await store.spaces.get(ns.id)).toBeNull();
      expect(await store.spaces.get(existing.id)).toEqual(existing);
      expect(await store.operations.get(no.id)).toBeNull();
      expect(await store.operations.listOfSpace(existing.id)).toEqual([]);
      expect(await store.steps.list(no.id)).toEqual([]);
      expect(await store.volumes.listOfSpace(existing.id)).toEqual([]);
      expect(await store.volumes.owner(volumeId)).toBeNull();
      expect((await store.events.after(base, { limit: 1000 })).filter((e) => e.event.spaceId === existing.id)).toEqual([]);
      expect(await store.audit.list({ actor, limit: 10 })).toEqual([]);
      // the replaced agent token still works, the new one never did
      expect(await store.agentTokens.findByHash(keptAgentToken)).toEqual(kept);
      expect(await store.agentTokens.findByHash(agentTokenHash)).toBeNull();
    });

    it('a conflict inside rolls back what the transaction wrote before it', async () => {
      const { owner, template } = await ownerAndTemplate();
      const taken = await space(owner.id, template.id);
      const nu = newUser();
      await expectConflict(
        store.transaction(async (tx) => {
          await tx.users.insert(nu, T);
          await tx.spaces.update(taken.id, { phase: 'failed' }, T + 1);
          await tx.spaces.insert(newSpace(owner.id, template.id, { name: taken.name }), T);
        }),
        'name',
      );
      expect(await store.users.get(nu.id)).toBeNull();
      expect(await store.spaces.get(taken.id)).toEqual(taken);
    });

    it("reads inside see the transaction's own earlier writes", async () => {
      const seen = await store.transaction(async (tx) => {
        const u = await tx.users.insert(newUser(), T);
        const tpl = await insertTemplate(tx, T);
        const s = await tx.spaces.insert(newSpace(u.id, tpl.id), T);
        await tx.spaces.update(s.id, { phase: 'running', startedAt: T }, T);
        const op = await tx.operations.insert(newOperation(s.id), T);
        const token = newToken(u.id);
        await tx.tokens.insert(token, T);
        const g = await tx.groups.insert(newGroup([u.id]), T);
        return {
          u,
          tpl,
          s,
          op,
          g,
          user: await tx.users.get(u.id),
          byUsername: await tx.users.getByUsername(u.username),
          template: await tx.templates.getByName(tpl.name),
          space: await tx.spaces.get(s.id),
          spaceByName: await tx.spaces.getByName(u.id, s.name),
          listed: ids(await tx.spaces.list({ ownerId: u.id, limit: 10 })),
          listedRunning: ids(await tx.spaces.list({ ownerId: u.id, phase: 'running', limit: 10 })),
          owned: await tx.spaces.countOwnedBy(u.id, false),
          active: await tx.operations.active(s.id),
          token: await tx.tokens.findUsableByHash(token.tokenHash, T + 1),
          groups: await tx.groups.namesOfUser(u.id),
        };
      });
      expect(seen.user).toEqual(seen.u);
      expect(seen.byUsername).toEqual(seen.u);
      expect(seen.template).toEqual(seen.tpl);
      expect(seen.space).toMatchObject({ id: seen.s.id, phase: 'running', startedAt: T });
      expect(seen.spaceByName?.id).toBe(seen.s.id);
      expect(seen.listed).toEqual([seen.s.id]);
      expect(seen.listedRunning).toEqual([seen.s.id]);
      expect(seen.owned).toBe(1);
      expect(seen.active).toEqual(seen.op);
      expect(seen.token?.userId).toBe(seen.u.id);
      expect(seen.groups).toEqual([seen.g.name]);
    });
  });

  // ================================================================ concurrency
  describe('concurrency', () => {
    it.each([2, 10])('%i writers racing for one space name: one wins, the others get a conflict', async (n) => {
      const { owner, template } = await ownerAndTemplate();
      const name = unique('s');
      const racers = Array.from({ length: n }, () => newSpace(owner.id, template.id, { name }));
      const winner = await exactlyOneWins(n, (i) => store.spaces.insert(racers[i] as NewSpace, T), 'name');
      expect((await store.spaces.getByName(owner.id, name))?.id).toBe(racers[winner]?.id);
      expect(ids(await store.spaces.list({ ownerId: owner.id, limit: 100 }))).toEqual([racers[winner]?.id]);
      expect(await store.spaces.countOwnedBy(owner.id, true)).toBe(1);
    });

    it.each([2, 10])('%i writers racing for one username: one wins, the others get a conflict', async (n) => {
      const username = unique('u');
      const before = await store.users.count();
      const racers = Array.from({ length: n }, () => newUser({ username }));
      const winner = await exactlyOneWins(n, (i) => store.users.insert(racers[i] as NewUser, T), 'username');
      expect((await store.users.getByUsername(username))?.id).toBe(racers[winner]?.id);
      expect((await store.users.list()).filter((u) => u.username === username)).toHaveLength(1);
      expect(await store.users.count()).toBe(before + 1);
    });

    it.each([2, 10])('%i writers racing for one template name: one wins, the others get a conflict', async (n) => {
      const name = unique('t');
      const racers = Array.from({ length: n }, () => newId(T));
      const winner = await exactlyOneWins(n, (i) => store.templates.insert(racers[i] as string, meta(name), version('1.0.0'), T), 'name');
      expect((await store.templates.getByName(name))?.id).toBe(racers[winner]);
      expect((await store.templates.list()).filter((x) => x.name === name)).toHaveLength(1);
      for (const [i, id] of racers.entries()) {
        if (i === winner) continue;
        expect(await store.templates.get(id)).toBeNull();
        expect(await store.templates.listVersions(id)).toEqual([]);
      }
    });

    it.each([2, 10])('%i writers racing for one group name: one wins, the others get a conflict', async (n) => {
      const member = await store.users.insert(newUser(), T);
      const name = unique('g');
      const racers = Array.from({ length: n }, () => newGroup([member.id], { name }));
      const winner = await exactlyOneWins(n, (i) => store.groups.insert(racers[i] as NewGroup, T), 'name');
      expect((await store.groups.getByName(name))?.id).toBe(racers[winner]?.id);
      expect((await store.groups.list()).filter((g) => g.name === name)).toHaveLength(1);
      expect(await store.groups.namesOfUser(member.id)).toEqual([name]);
    });

    it.each([2, 10])('%i writers racing for one variable name: one wins, the others get a conflict', async (n) => {
      const name = unique('VAR_');
      const winner = await exactlyOneWins(n, (i) => store.variables.insert({ id: newId(T), name, value: `value-${i}`, protected: false }, T), 'name');
      expect((await store.variables.get(name))?.value).toBe(`value-${winner}`);
      expect((await store.variables.list()).filter((v) => v.name === name)).toHaveLength(1);
    });

    it('two concurrent finishes of one operation: exactly one answers true, and its outcome is stored', async () => {
      const op = await store.operations.insert(newOperation(newId(T)), T);
      await store.operations.markRunning(op.id, 'run', T + 1);
      const outcomes = [{ status: 'succeeded' as const }, { status: 'failed' as const, errorType: 'internal', errorMessage: 'x' }];
      const answers = await Promise.all(outcomes.map((o, i) => store.operations.finish(op.id, o, T + 2 + i)));
      expect(answers.filter(Boolean)).toHaveLength(1);
      const won = answers.indexOf(true);
      expect(await store.operations.get(op.id)).toMatchObject({ ...outcomes[won], finishedAt: T + 2 + won });
    });

    it('two concurrent markRunning of one pending operation: exactly one answers true', async () => {
      const op = await store.operations.insert(newOperation(newId(T)), T);
      const answers = await Promise.all([store.operations.markRunning(op.id, 'run-a', T + 1), store.operations.markRunning(op.id, 'run-b', T + 1)]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect((await store.operations.get(op.id))?.status).toBe('running');
    });

    it('50 concurrent appends: unique, contiguous ids', async () => {
      const { owner, template } = await ownerAndTemplate();
      const s = await space(owner.id, template.id);
      const base = (await store.events.bounds()).newestId ?? 0;
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.events.append({ type: 'operation.step', spaceId: s.id, step: `step-${i}` }, T + i)));
      const got = await store.events.after(base, { limit: 1000 });
      expect(got).toHaveLength(50);
      expect(got.every((e) => e.event.spaceId === s.id)).toBe(true);
      const eventIds = got.map((e) => e.id);
      expect(new Set(eventIds).size).toBe(50);
      expect(eventIds).toEqual([...eventIds].sort((a, b) => a - b));
      expect((eventIds[49] as number) - (eventIds[0] as number)).toBe(49);
      expect(new Set(got.map((e) => e.event.step))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `step-${i}`)));
    });
  });
});
