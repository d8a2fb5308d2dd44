/**
 * Agent tokens: who may link as a space's agent. Random per token (never derived from the space),
 * so a stop, a delete or a newer token revokes it; only the sha256 is stored. At most one token of
 * each kind (`start`, `manual`) per space — the store keeps that rule, not a constraint, so that
 * replacing one is a delete and an insert in one transaction on every driver.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_tokens', (t) => {
    t.string('id', 32).primary();
    t.string('space_id', 32).notNullable();
    /** start | manual */
    t.string('kind', 16).notNullable();
    t.string('token_hash', 64).notNullable().unique();
    t.bigInteger('created_at').notNullable();
    t.index(['space_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('agent_tokens');
}
