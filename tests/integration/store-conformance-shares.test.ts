/**
 * Store conformance for space shares and space transfer (store/store.ts SpaceShareRepository,
 * SpaceRepository.transfer), with the same expectations on every driver (SQLite, MariaDB, Redis).
 * Kept beside store-conformance.test.ts (same fixtures' style) so the big suite stays readable.
 */
import { randomBytes } from 'node:crypto';
import { ErrorType, isKnotError, type KnotError } from '../../core/errors';
import { newId } from '../../core/names';
import type { NewSpace, NewSpaceShare, NewUser } from '../../store/model';
import type { Store } from '../../store/store';
import { createTestStore, storeKinds, type TestStore } from '../support/db';

const T = Date.parse('2025-04-01T00:00:00Z');
const unique = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

function newUser(): NewUser {
  return { id: newId(T), username: unique('u'), email: 'someone@example.com', timezone: 'UTC', role: 'user', active: true };
}

async function conflictOf(p: Promise<unknown>): Promise<KnotError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isKnotError(e)) throw new Error(`expected a conflict, got ${String(e)}`);
  expect(e.type).toBe(ErrorType.Conflict);
  return e;
}

describe.each(storeKinds())('space shares on %s', (kind) => {
  let t: TestStore;
  let store: Store;
  let templateId: string;

  beforeAll(async () => {
    t = await createTestStore(kind);
    store = t.store;
    templateId = newId(T);
    await store.templates.insert(templateId, { name: unique('t'), displayName: 'T', description: '', type: 'nomad', groups: [] }, { versionId: newId(T), version: '1.0.0', contentHash: 'h', content: {}, createdBy: null }, T);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  async function space(ownerId: string, over: Partial<NewSpace> = {}) {
    return store.spaces.insert({ id: newId(T), name: unique('s'), ownerId, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, ...over }, T);
  }

  async function user() {
    return store.users.insert(newUser(), T);
  }

  const share = (spaceId: string, over: Partial<NewSpaceShare>): NewSpaceShare => ({ id: newId(T), spaceId, userId: null, groupName: null, role: 'viewer', createdBy: 'someone', ...over });

  it('insert answers the share; get, listOfSpace and listOfSpaces read it back oldest first', async () => {
    const [owner, bob] = [await user(), await user()];
    const s = await space(owner.id);
    const a = await store.shares.insert(share(s.id, { userId: bob.id, role: 'user', createdBy: owner.id }), T + 2);
    const b = await store.shares.insert(share(s.id, { groupName: 'devs' }), T + 1);
    expect(a).toEqual({ ...share(s.id, {}), id: a.id, userId: bob.id, role: 'user', createdBy: owner.id, createdAt: T + 2 });
    expect(await store.shares.get(a.id)).toEqual(a);
    expect(await store.shares.get(newId(T))).toBeNull();
    expect(await store.shares.listOfSpace(s.id)).toEqual([b, a]);
    const other = await space(owner.id);
    const many = await store.shares.listOfSpaces([s.id, other.id]);
    expect(many.get(s.id)).toEqual([b, a]);
    expect(many.has(other.id)).toBe(false);
  });

  it('a space is shared with a user, and with a group, at most once (conflict naming user / group)', async () => {
    const [owner, bob] = [await user(), await user()];
    const s = await space(owner.id);
    await store.shares.insert(share(s.id, { userId: bob.id }), T);
    await store.shares.insert(share(s.id, { groupName: 'ops' }), T);
    expect((await conflictOf(store.shares.insert(share(s.id, { userId: bob.id, role: 'user' }), T))).errors.map((e) => e.path)).toEqual(['user']);
    expect((await conflictOf(store.shares.insert(share(s.id, { groupName: 'ops' }), T))).errors.map((e) => e.path)).toEqual(['group']);
    // another space may be shared with the same recipients
    const other = await space(owner.id);
    await store.shares.insert(share(other.id, { userId: bob.id }), T);
    await store.shares.insert(share(other.id, { groupName: 'ops' }), T);
    expect(await store.shares.listOfSpace(s.id)).toHaveLength(2);
  });

  it('two racing shares to one recipient: exactly one wins', async () => {
    const [owner, bob] = [await user(), await user()];
    const s = await space(owner.id);
    const results = await Promise.allSettled([0, 1, 2, 3].map(() => store.shares.insert(share(s.id, { userId: bob.id }), T)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as KnotError).type).toBe(ErrorType.Conflict);
    expect(await store.shares.listOfSpace(s.id)).toHaveLength(1);
  });

  it("listForRecipient answers the shares to the user or to any of the user's groups", async () => {
    const [owner, bob, carol] = [await user(), await user(), await user()];
    const [s1, s2, s3] = [await space(owner.id), await space(owner.id), await space(owner.id)];
    const g1 = unique('g');
    const g2 = unique('g');
    const a = await store.shares.insert(share(s1.id, { userId: bob.id }), T + 1);
    const b = await store.shares.insert(share(s2.id, { groupName: g1 }), T + 2);
    const c = await store.shares.insert(share(s3.id, { groupName: g2, role: 'user' }), T + 3);
    await store.shares.insert(share(s3.id, { userId: carol.id }), T + 4);
    expect(await store.shares.listForRecipient(bob.id, [g1, g2])).toEqual([a, b, c]);
    expect(await store.shares.listForRecipient(bob.id, [])).toEqual([a]);
    expect((await store.shares.listForRecipient(newId(T), [g1])).map((x) => x.id)).toEqual([b.id]);
  });

  it('delete removes one share and frees its recipient; deleteOfSpace removes every share of a space', async () => {
    const [owner, bob] = [await user(), await user()];
    const s = await space(owner.id);
    const a = await store.shares.insert(share(s.id, { userId: bob.id }), T);
    expect(await store.shares.delete(a.id)).toBe(true);
    expect(await store.shares.delete(a.id)).toBe(false);
    expect(await store.shares.listForRecipient(bob.id, [])).toEqual([]);
    await store.shares.insert(share(s.id, { userId: bob.id }), T);
    await store.shares.insert(share(s.id, { groupName: 'x' }), T);
    expect(await store.shares.deleteOfSpace(s.id)).toBe(2);
    expect(await store.shares.listOfSpace(s.id)).toEqual([]);
    expect(await store.shares.listForRecipient(bob.id, ['x'])).toEqual([]);
  });

  it('a share written in a transaction that fails is not kept', async () => {
    const [owner, bob] = [await user(), await user()];
    const s = await space(owner.id);
    await expect(
      store.transaction(async (tx) => {
        await tx.shares.insert(share(s.id, { userId: bob.id }), T);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.shares.listOfSpace(s.id)).toEqual([]);
  });

  it('purging a deleted space drops its shares', async () => {
    const [owner, bob] = [await user(), await user()];
    const s = await space(owner.id);
    await store.shares.insert(share(s.id, { userId: bob.id }), T);
    await store.spaces.markDeleted(s.id, T + 1);
    await store.spaces.purgeDeleted([s.id]);
    expect(await store.shares.listForRecipient(bob.id, [])).toEqual([]);
  });

  describe('spaces.transfer', () => {
    it("moves the space to the new owner: by name under the new owner, gone from the old one's, the record otherwise the same", async () => {
      const [alice, bob] = [await user(), await user()];
      const s = await space(alice.id);
      await store.spaces.transfer(s.id, bob.id, T + 5);
      const moved = (await store.spaces.get(s.id))!;
      expect(moved).toEqual({ ...s, ownerId: bob.id, updatedAt: T + 5 });
      expect((await store.spaces.getByName(bob.id, s.name))?.id).toBe(s.id);
      expect(await store.spaces.getByName(alice.id, s.name)).toBeNull();
      expect((await store.spaces.list({ ownerId: bob.id, limit: 10 })).map((x) => x.id)).toEqual([s.id]);
      expect(await store.spaces.list({ ownerId: alice.id, limit: 10 })).toEqual([]);
      expect(await store.spaces.countOwnedBy(bob.id, false)).toBe(1);
      expect(await store.spaces.countOwnedBy(alice.id, false)).toBe(0);
      // the old owner may reuse the name
      await space(alice.id, { name: s.name });
    });

    it("a name the new owner already uses is a conflict naming 'to', and nothing moves", async () => {
      const [alice, bob] = [await user(), await user()];
      const s = await space(alice.id);
      await space(bob.id, { name: s.name });
      expect((await conflictOf(store.spaces.transfer(s.id, bob.id, T))).errors.map((e) => e.path)).toEqual(['to']);
      expect((await store.spaces.get(s.id))?.ownerId).toBe(alice.id);
      expect((await store.spaces.getByName(alice.id, s.name))?.id).toBe(s.id);
    });

    it('a deleted or missing space is not found', async () => {
      const [alice, bob] = [await user(), await user()];
      const s = await space(alice.id);
      await store.spaces.markDeleted(s.id, T);
      await expect(store.spaces.transfer(s.id, bob.id, T)).rejects.toMatchObject({ type: ErrorType.NotFound });
      await expect(store.spaces.transfer(newId(T), bob.id, T)).rejects.toMatchObject({ type: ErrorType.NotFound });
    });
  });
});
