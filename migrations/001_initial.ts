/**
 * Every table knot needs. Portable between MySQL/MariaDB and SQLite: string ids, timestamps as
 * integer milliseconds since the epoch, JSON in text columns, booleans as 0/1.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('id', 32).primary();
    t.string('username', 64).notNullable().unique();
    t.string('email', 255).notNullable().defaultTo('');
    t.string('timezone', 64).notNullable().defaultTo('UTC');
    t.string('role', 16).notNullable().defaultTo('user');
    t.boolean('active').notNullable().defaultTo(true);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('groups', (t) => {
    t.string('id', 32).primary();
    t.string('name', 64).notNullable().unique();
    t.string('description', 1024).notNullable().defaultTo('');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('group_members', (t) => {
    t.string('group_id', 32).notNullable().references('id').inTable('groups').onDelete('CASCADE');
    t.string('user_id', 32).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 32).primary();
    t.string('user_id', 32).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('name', 128).notNullable().defaultTo('');
    t.string('token_hash', 64).notNullable().unique();
    t.string('prefix', 16).notNullable().defaultTo('');
    t.bigInteger('expires_at').nullable();
    t.bigInteger('revoked_at').nullable();
    t.bigInteger('last_used_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.index(['user_id']);
  });

  await knex.schema.createTable('templates', (t) => {
    t.string('id', 32).primary();
    t.string('name', 64).notNullable();
    /** name while the template exists, NULL once deleted, so a deleted name can be reused */
    t.string('active_name', 64).nullable().unique();
    t.string('display_name', 255).notNullable().defaultTo('');
    t.text('description').notNullable();
    t.string('type', 16).notNullable().defaultTo('nomad');
    t.text('groups_json').notNullable();
    t.string('latest_version', 32).notNullable();
    t.string('latest_hash', 64).notNullable();
    t.string('created_by', 32).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('deleted_at').nullable();
  });

  await knex.schema.createTable('template_versions', (t) => {
    t.string('id', 32).primary();
    t.string('template_id', 32).notNullable().references('id').inTable('templates').onDelete('CASCADE');
    t.string('version', 32).notNullable();
    t.string('content_hash', 64).notNullable();
    t.text('content_json', 'mediumtext').notNullable();
    t.string('created_by', 32).nullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['template_id', 'version']);
  });

  await knex.schema.createTable('template_variables', (t) => {
    t.string('id', 32).primary();
    t.string('name', 64).notNullable().unique();
    /** plaintext for ordinary variables, `v1:` AES-256-GCM ciphertext for protected ones */
    t.text('value').notNullable();
    t.boolean('protected').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('spaces', (t) => {
    t.string('id', 32).primary();
    t.string('name', 64).notNullable();
    t.string('owner_id', 32).notNullable().references('id').inTable('users');
    /** name while the space exists, NULL once deleted: frees the name (unique per owner) */
    t.string('active_name', 64).nullable();
    t.string('template_id', 32).notNullable().references('id').inTable('templates');
    t.string('template_ref', 32).notNullable().defaultTo('');
    t.text('parameters_json').notNullable();
    t.string('shell', 32).notNullable().defaultTo('bash');
    t.string('agent_url', 512).nullable();
    t.string('phase', 16).notNullable().defaultTo('stopped');
    t.string('reason', 64).notNullable().defaultTo('');
    t.text('message').notNullable();
    t.string('applied_version', 32).nullable();
    t.string('applied_hash', 64).nullable();
    t.string('nomad_job_id', 128).nullable();
    t.string('last_operation_id', 32).nullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('deleted_at').nullable();
    t.unique(['owner_id', 'active_name']);
    t.index(['phase', 'started_at']);
    t.index(['template_id']);
    t.index(['deleted_at']);
    t.index(['created_at', 'id']);
  });

  await knex.schema.createTable('space_volumes', (t) => {
    t.string('space_id', 32).notNullable().references('id').inTable('spaces').onDelete('CASCADE');
    t.string('volume_id', 255).notNullable();
    t.string('type', 8).notNullable().defaultTo('csi');
    /** for host volumes Nomad assigns the id; we keep the name too */
    t.string('nomad_id', 255).nullable();
    t.string('created_by_operation', 32).nullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['space_id', 'volume_id']);
  });

  await knex.schema.createTable('operations', (t) => {
    t.string('id', 32).primary();
    t.string('space_id', 32).notNullable();
    t.string('type', 16).notNullable();
    t.string('requested_by', 64).notNullable();
    t.string('status', 16).notNullable();
    t.string('reason', 255).notNullable().defaultTo('');
    t.string('error_type', 64).nullable();
    t.text('error_message').nullable();
    t.string('workflow_id', 128).notNullable();
    t.string('run_id', 64).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.bigInteger('deadline_at').nullable();
    t.index(['space_id', 'created_at']);
    t.index(['status', 'deadline_at']);
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('at').notNullable();
    t.string('actor_id', 32).nullable();
    t.string('actor', 64).notNullable();
    t.string('action', 64).notNullable();
    t.string('resource_type', 32).notNullable();
    t.string('resource_id', 128).nullable();
    t.string('outcome', 16).notNullable();
    t.text('detail_json').nullable();
    t.index(['at']);
    t.index(['resource_type', 'resource_id']);
  });

  await knex.schema.createTable('agent_state', (t) => {
    t.string('space_id', 32).primary();
    t.text('state_json').notNullable();
    t.bigInteger('last_seen').notNullable();
    t.bigInteger('expires_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'agent_state',
    'audit_log',
    'operations',
    'space_volumes',
    'spaces',
    'template_variables',
    'template_versions',
    'templates',
    'api_tokens',
    'group_members',
    'groups',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
