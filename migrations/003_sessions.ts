/**
 * Web sign-in: a password hash per user (argon2id, PHC string; NULL = no password, token sign-in
 * only) and server-side sessions. A session is found by the sha256 of its cookie value, so a
 * leaked table does not hand out sessions; the CSRF token is bound to the session row.
 * Numbered 003 so it sorts after the events migration of the client branch.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('password_hash', 255).nullable();
  });
  await knex.schema.createTable('sessions', (t) => {
    t.string('id', 32).primary();
    t.string('user_id', 32).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('session_hash', 64).notNullable().unique();
    t.string('csrf_token', 64).notNullable();
    /** how the user signed in: password or token */
    t.string('method', 16).notNullable();
    t.string('user_agent', 255).notNullable().defaultTo('');
    t.string('ip', 64).notNullable().defaultTo('');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_used_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sessions');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('password_hash');
  });
}
