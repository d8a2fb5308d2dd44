/**
 * Live events and step timelines. `events` is the replay log every API instance tails (bounded:
 * pruned on insert); `operation_steps` is the permanent timeline of each operation.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('at').notNullable();
    t.string('type', 32).notNullable();
    t.string('space_id', 32).notNullable();
    /** who may see the event (admins see all) */
    t.string('owner_id', 32).nullable();
    t.string('operation_id', 32).nullable();
    t.text('data').notNullable();
  });

  await knex.schema.createTable('operation_steps', (t) => {
    t.string('operation_id', 32).notNullable();
    t.integer('seq').notNullable();
    t.string('name', 255).notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    /** running | succeeded | failed | cancelled */
    t.string('outcome', 16).notNullable();
    t.text('message').nullable();
    t.primary(['operation_id', 'seq']);
    t.unique(['operation_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('operation_steps');
  await knex.schema.dropTableIfExists('events');
}
