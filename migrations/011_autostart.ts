/**
 * Auto-start (core/autostart.ts): one row per space that has an autostart, with the instant it is
 * next due. `next_at` is indexed: the every-minute sweep reads only the rows due now, however many
 * spaces there are.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('space_autostart', (t) => {
    t.string('space_id', 32).primary();
    /** JSON: { days, at, timezone? } */
    t.text('autostart').notNullable();
    t.bigInteger('next_at').nullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['next_at'], 'space_autostart_next_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('space_autostart');
}
