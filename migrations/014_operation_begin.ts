/**
 * The space's phase and Nomad job as an operation's workflow first began (store/model.ts
 * `Operation.phaseAtBegin`): a begin that runs again after its worker died answers from these,
 * not from a space the first run has since moved on.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => {
    t.string('phase_at_begin', 32).nullable();
    t.string('job_id_at_begin', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => {
    t.dropColumn('phase_at_begin');
    t.dropColumn('job_id_at_begin');
  });
}
