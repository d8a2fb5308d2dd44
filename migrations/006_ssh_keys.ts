/**
 * SSH public keys on users' accounts. A key (by its fingerprint) is on a user at most once; the
 * same key on two accounts is allowed (one person, two accounts), so the unique index is per user.
 * Public keys are not secrets: stored as they are, normalised, without their comment.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ssh_keys', (t) => {
    t.string('id', 32).primary();
    t.string('user_id', 32).notNullable();
    t.string('name', 100).notNullable();
    t.string('type', 64).notNullable();
    /** `<type> <base64>`: an RSA 16384-bit key is about 2.8 KB */
    t.text('public_key').notNullable();
    /** `SHA256:` and 43 base64 characters */
    t.string('fingerprint', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    // also the index of a user's keys (its leading column)
    t.unique(['user_id', 'fingerprint']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ssh_keys');
}
