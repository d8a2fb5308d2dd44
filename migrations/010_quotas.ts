/**
 * Quotas (core/quotas.ts): the limits set on users and groups (`quota_limits`, one row per subject
 * that has any; a kind left NULL has no limit), and what each space last reserved
 * (`space_units`: the units of the version its latest start/restart/update asked for), which the
 * quota check counts for spaces that run, are being started, or hold volumes.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('quota_limits', (t) => {
    /** `user` or `group` */
    t.string('subject_kind', 8).notNullable();
    t.string('subject_id', 32).notNullable();
    t.integer('max_spaces').nullable();
    t.integer('compute_units').nullable();
    t.integer('storage_units').nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['subject_kind', 'subject_id']);
  });
  await knex.schema.createTable('space_units', (t) => {
    t.string('space_id', 32).primary();
    t.integer('compute_units').notNullable();
    t.integer('storage_units').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('space_units');
  await knex.schema.dropTableIfExists('quota_limits');
}
