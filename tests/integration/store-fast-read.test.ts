/**
 * store/sql/fast-sql.ts: hot reads bypass knex on SQLite outside a transaction. They must see what
 * knex would: a transaction's own uncommitted rows inside it, nothing of them outside until it
 * commits, and nothing after a rollback.
 */
import { newId } from '../../core/names';
import { createTestStore, sqlKinds, type TestStore } from '../support/db';

describe.each(sqlKinds())('fast reads on %s', (kind) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(kind);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const newUser = (username: string) => ({ id: newId(Date.now()), username, email: '', timezone: 'UTC', role: 'user' as const, active: true });

  test('inside a transaction its own rows; outside, only once committed', async () => {
    const u = newUser(`fast-${kind}-a`);
    let seenOutside: unknown = 'not read';
    await t.store.transaction(async (tx) => {
      await tx.users.insert(u, Date.now());
      expect((await tx.users.get(u.id))?.username).toBe(u.username);
      expect((await tx.users.getByIds([u.id])).map((x) => x.id)).toEqual([u.id]);
      // a read on the pool while the transaction is open: on SQLite it waits for the one connection
      const outside = t.store.users.get(u.id).then((r) => (seenOutside = r));
      await new Promise((r) => setTimeout(r, 50));
      if (kind === 'mysql') {
        await outside;
        expect(seenOutside).toBeNull();
      } else {
        expect(seenOutside).toBe('not read');
      }
    });
    expect((await t.store.users.get(u.id))?.username).toBe(u.username);
  });

  test('a read asked for in the same tick as a transaction opens sees the transaction whole or not at all', async () => {
    const u = newUser(`fast-${kind}-d`);
    const tx = t.store.transaction(async (trx) => {
      await trx.users.insert(u, Date.now());
      await trx.users.update(u.id, { email: 'second@example.com' }, Date.now());
    });
    const read = t.store.users.get(u.id);
    await tx;
    expect([null, 'second@example.com']).toContain((await read)?.email ?? null);
    // with the connection idle again, reads answer from it at once
    expect((await Promise.all([t.store.users.get(u.id), t.store.users.getByIds([u.id])])).map((r) => (Array.isArray(r) ? r[0]?.email : r?.email))).toEqual(['second@example.com', 'second@example.com']);
  });

  test('a rolled-back row is never read', async () => {
    const u = newUser(`fast-${kind}-b`);
    await expect(
      t.store.transaction(async (tx) => {
        await tx.users.insert(u, Date.now());
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await t.store.users.get(u.id)).toBeNull();
    expect(await t.store.users.getByIds([u.id])).toEqual([]);
  });

  test('booleans and numbers come back as knex gave them', async () => {
    const u = newUser(`fast-${kind}-c`);
    const at = Date.parse('2025-06-01T00:00:00Z');
    await t.store.users.insert(u, at);
    const read = await t.store.users.get(u.id);
    expect(read).toMatchObject({ active: true, createdAt: at, updatedAt: at });
  });
});
