/**
 * Spaces shared with users and groups (core/space-roles.ts): a share names exactly one recipient,
 * a user by id or a group by name (group names never change), and a space is shared with a
 * recipient at most once — the unique indexes below; NULLs never clash, so a user share and a group
 * share live side by side. Looked up by space (its shares) and by recipient (spaces shared with me).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('space_shares', (t) => {
    t.string('id', 32).primary();
    t.string('space_id', 32).notNullable();
    t.string('user_id', 32).nullable();
    t.string('group_name', 64).nullable();
    t.string('role', 16).notNullable();
    t.string('created_by', 32).notNullable();
    t.bigInteger('created_at').notNullable();
    // also the index of a space's shares (their leading column)
    t.unique(['space_id', 'user_id'], { indexName: 'space_shares_space_user_unique' });
    t.unique(['space_id', 'group_name'], { indexName: 'space_shares_space_group_unique' });
    t.index(['user_id'], 'space_shares_user_index');
    t.index(['group_name'], 'space_shares_group_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('space_shares');
}
