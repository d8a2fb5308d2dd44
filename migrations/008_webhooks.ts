/**
 * Lifecycle webhooks: endpoints (the signing secret encrypted with server.encrypt), their
 * deliveries (one per event per endpoint, the id being the `webhook-id` receivers de-duplicate on)
 * and the dispatcher's cursor in the event log (`webhook_cursor`, one row).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.string('id', 32).primary();
    t.string('url', 2048).notNullable();
    t.string('description', 500).notNullable();
    /** JSON array of event types */
    t.text('events').notNullable();
    t.boolean('enabled').notNullable();
    t.text('secret_encrypted').notNullable();
    t.string('created_by', 32).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('failing_since').nullable();
    t.string('disabled_reason', 500).nullable();
    t.bigInteger('after_event_id').notNullable();
  });
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.string('id', 160).primary();
    t.string('endpoint_id', 32).notNullable();
    t.bigInteger('event_id').nullable();
    t.string('event_type', 64).notNullable();
    t.string('queue_key', 64).notNullable();
    t.text('payload').notNullable();
    t.string('status', 16).notNullable();
    t.boolean('queued').notNullable();
    t.integer('attempts').notNullable();
    t.bigInteger('last_attempt_at').nullable();
    t.integer('last_status_code').nullable();
    t.text('last_response').nullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('queued_at').notNullable();
    t.bigInteger('delivered_at').nullable();
    t.index(['endpoint_id', 'created_at', 'id']);
    t.index(['queued', 'queued_at', 'event_id', 'id']);
    // the dispatcher's "is this lane busy" (store/sql/webhooks.ts laneHasQueued)
    t.index(['endpoint_id', 'queue_key', 'status', 'queued']);
  });
  await knex.schema.createTable('webhook_cursor', (t) => {
    t.string('name', 32).primary();
    t.bigInteger('event_id').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_cursor');
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhook_endpoints');
}
