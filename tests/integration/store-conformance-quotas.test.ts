/**
 * Store conformance for quotas (store/store.ts QuotaRepository) on every driver (SQLite, MariaDB,
 * Redis): limits per user and group (set, replace, removed when empty), what spaces reserved, and
 * the owner lock: concurrent read-check-write transactions under it never both take the last unit.
 */
import { randomBytes } from 'node:crypto';
import { newId } from '../../core/names';
import type { Store } from '../../store/store';
import { createTestStore, storeKinds, type TestStore } from '../support/db';

const T = Date.parse('2025-04-01T00:00:00Z');
const unique = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

describe.each(storeKinds())('quotas on %s', (kind) => {
  let t: TestStore;
  let store: Store;

  beforeAll(async () => {
    t = await createTestStore(kind);
    store = t.store;
  });
  afterAll(async () => t?.cleanup());

  const user = async () => store.users.insert({ id: newId(T), username: unique('u'), email: '', timezone: 'UTC', role: 'user', active: true }, T);

  test('limits: set, replaced, removed when empty; users and groups apart', async () => {
    const u = await user();
    const g = newId(T);
    expect(await store.quotas.limitsOf('user', [u.id])).toEqual(new Map());
    await store.quotas.setLimits('user', u.id, { maxSpaces: 3, computeUnits: 4 }, T);
    await store.quotas.setLimits('group', g, { storageUnits: 0 }, T);
    expect(await store.quotas.limitsOf('user', [u.id, g])).toEqual(new Map([[u.id, { maxSpaces: 3, computeUnits: 4 }]]));
    expect(await store.quotas.limitsOf('group', [g])).toEqual(new Map([[g, { storageUnits: 0 }]]));
    await store.quotas.setLimits('user', u.id, { computeUnits: 1 }, T + 1);
    expect((await store.quotas.limitsOf('user', [u.id])).get(u.id)).toEqual({ computeUnits: 1 });
    await store.quotas.setLimits('user', u.id, {}, T + 2);
    expect(await store.quotas.limitsOf('user', [u.id])).toEqual(new Map());
  });

  test('space units: recorded and replaced', async () => {
    const a = newId(T);
    const b = newId(T);
    await store.quotas.setUnits(a, { compute: 2, storage: 5 }, T);
    await store.quotas.setUnits(a, { compute: 1, storage: 5 }, T + 1);
    expect(await store.quotas.unitsOf([a, b])).toEqual(new Map([[a, { compute: 1, storage: 5 }]]));
  });

  test('the owner lock serialises read-check-write transactions: 10 racing for 3 units, exactly 3 win', async () => {
    const u = await user();
    const spaces = Array.from({ length: 10 }, () => newId(T));
    const taken = async () => (await store.quotas.unitsOf(spaces)).size;
    const results = await Promise.allSettled(
      spaces.map((id) =>
        store.transaction(async (tx) => {
          await tx.quotas.lockOwner(u.id, T);
          const held = (await tx.quotas.unitsOf(spaces)).size;
          if (held >= 3) throw new Error('full');
          await tx.quotas.setUnits(id, { compute: 1, storage: 0 }, T);
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(await taken()).toBe(3);
    // the lock leaves the user as it was
    expect((await store.users.get(u.id))?.updatedAt).toBe(T);
  });
});
