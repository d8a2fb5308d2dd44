import { migrateDown, migrateLatest } from '../../store/sql/db';
import { isUniqueViolation } from '../../store/sql/db';
import { createTestStore, sqlKinds } from '../support/db';

const TABLES = ['users', 'groups', 'group_members', 'api_tokens', 'templates', 'template_versions', 'template_variables', 'spaces', 'space_volumes', 'operations', 'audit_log', 'agent_state', 'events', 'operation_steps', 'ssh_keys'];

describe.each(sqlKinds())('SQL migrations on %s', (kind) => {
  it('create every table, are idempotent, and roll back cleanly', async () => {
    const t = await createTestStore(kind, { migrate: false });
    const db = t.sql!;
    try {
      const applied = await migrateLatest(db);
      expect(applied.length).toBeGreaterThan(0);
      for (const table of TABLES) expect(await db.schema.hasTable(table)).toBe(true);
      expect(await migrateLatest(db)).toEqual([]);
      await migrateDown(db);
      for (const table of TABLES) expect(await db.schema.hasTable(table)).toBe(false);
      await migrateLatest(db);
      expect(await db.schema.hasTable('spaces')).toBe(true);
    } finally {
      await t.cleanup();
    }
  });

  it('enforces unique live names but frees them once deleted', async () => {
    const t = await createTestStore(kind);
    const db = t.sql!;
    try {
      const now = Date.now();
      await db('users').insert({ id: 'u1', username: 'alice', email: '', timezone: 'UTC', role: 'user', active: true, created_at: now, updated_at: now });
      await db('templates').insert({ id: 't1', name: 'x', active_name: 'x', display_name: '', description: '', type: 'nomad', groups_json: '[]', latest_version: '1.0.0', latest_hash: 'h', created_at: now, updated_at: now });
      const space = (id: string, active: string | null) => ({ id, name: 'dev', owner_id: 'u1', active_name: active, template_id: 't1', template_ref: '', parameters_json: '{}', shell: 'bash', phase: 'stopped', reason: '', message: '', created_at: now, updated_at: now });
      await db('spaces').insert(space('s1', 'dev'));
      // checked by hand: better-sqlite3's native error is not an Error of jest's realm
      const clash = await Promise.resolve(db('spaces').insert(space('s2', 'dev'))).then(() => null, (e: unknown) => e);
      expect(isUniqueViolation(clash)).toBe(true);
      await db('spaces').where({ id: 's1' }).update({ active_name: null, deleted_at: now });
      await db('spaces').insert(space('s3', 'dev'));
      expect(Number((await db('spaces').count<{ n: number }[]>({ n: '*' }))[0]!.n)).toBe(2);
    } finally {
      await t.cleanup();
    }
  });
});
