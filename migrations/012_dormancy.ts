/**
 * Dormant spaces (core/dormancy.ts): one row per space an admin exempted or the cleanup sweep
 * warned. The dormancy clock itself is not stored: it is the space's last operation's finish.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('space_dormancy', (t) => {
    t.string('space_id', 32).primary();
    t.boolean('exempt').notNullable().defaultTo(false);
    t.bigInteger('warned_at').nullable();
    /** the dormancy period the warning was for (its start): a start or update begins another */
    t.bigInteger('warned_since').nullable();
    t.bigInteger('warned_deletes_at').nullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('space_dormancy');
}
