/**
 * The space list pages in (created_at, id) order, all live spaces (admins) or one owner's (everyone
 * else). Without these, SQLite found the rows by `owner_id` or `deleted_at` and sorted all of them
 * for every page: 0.4 s per page at 100,000 spaces (bench/RESULTS.md, "Stores").
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('spaces', (t) => {
    t.index(['owner_id', 'created_at', 'id'], 'spaces_owner_created_index');
    t.index(['deleted_at', 'created_at', 'id'], 'spaces_live_created_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('spaces', (t) => {
    t.dropIndex(['owner_id', 'created_at', 'id'], 'spaces_owner_created_index');
    t.dropIndex(['deleted_at', 'created_at', 'id'], 'spaces_live_created_index');
  });
}
