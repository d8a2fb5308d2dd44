/** Lifecycle webhooks on SQL: `webhook_endpoints`, `webhook_deliveries`, `webhook_cursor`. */
import { alreadyInUse } from '../../core/errors';
import type { WebhookEventType } from '../../core/webhooks';
import type { WebhookRepository } from '../store';
import type { WebhookDelivery, WebhookEndpoint } from '../webhook-model';
import { isUniqueViolation, type Queryable } from './db';

const CURSOR = 'dispatcher';

function endpointFromRow(r: Record<string, unknown>): WebhookEndpoint {
  return {
    id: r.id as string,
    url: r.url as string,
    description: r.description as string,
    events: JSON.parse(r.events as string) as WebhookEventType[],
    enabled: Boolean(r.enabled),
    secretEncrypted: r.secret_encrypted as string,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    failingSince: r.failing_since == null ? null : Number(r.failing_since),
    disabledReason: (r.disabled_reason as string | null) ?? null,
    afterEventId: Number(r.after_event_id),
  };
}

const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));

function deliveryFromRow(r: Record<string, unknown>): WebhookDelivery {
  return {
    id: r.id as string,
    endpointId: r.endpoint_id as string,
    eventId: numOrNull(r.event_id),
    eventType: r.event_type as string,
    queueKey: r.queue_key as string,
    payload: r.payload as string,
    status: r.status as WebhookDelivery['status'],
    queued: Boolean(r.queued),
    attempts: Number(r.attempts),
    lastAttemptAt: numOrNull(r.last_attempt_at),
    lastStatusCode: numOrNull(r.last_status_code),
    lastResponse: (r.last_response as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    createdAt: Number(r.created_at),
    queuedAt: Number(r.queued_at),
    deliveredAt: numOrNull(r.delivered_at),
  };
}

/** The dispatcher's cursor, for the event log's pruning (null: no dispatcher ever ran). */
export async function sqlWebhookCursor(db: Queryable): Promise<number | null> {
  const row = (await db('webhook_cursor').where({ name: CURSOR }).first('event_id')) as { event_id: unknown } | undefined;
  return row ? Number(row.event_id) : null;
}

export function sqlWebhooks(db: Queryable): WebhookRepository {
  return {
    async insertEndpoint(e, now) {
      try {
        await db('webhook_endpoints').insert({
          id: e.id,
          url: e.url,
          description: e.description,
          events: JSON.stringify(e.events),
          enabled: e.enabled,
          secret_encrypted: e.secretEncrypted,
          created_by: e.createdBy,
          created_at: now,
          updated_at: now,
          failing_since: null,
          disabled_reason: null,
          after_event_id: e.afterEventId,
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyInUse('a webhook with this id already exists', 'id');
        throw err;
      }
      return { ...e, createdAt: now, updatedAt: now, failingSince: null, disabledReason: null };
    },

    async getEndpoint(id) {
      const r = await db('webhook_endpoints').where({ id }).first();
      return r ? endpointFromRow(r) : null;
    },

    async listEndpoints() {
      return (await db('webhook_endpoints').orderBy([{ column: 'created_at' }, { column: 'id' }])).map(endpointFromRow);
    },

    async updateEndpoint(id, p, now) {
      const row: Record<string, unknown> = { updated_at: now };
      if (p.url !== undefined) row.url = p.url;
      if (p.description !== undefined) row.description = p.description;
      if (p.events !== undefined) row.events = JSON.stringify(p.events);
      if (p.enabled !== undefined) {
        row.enabled = p.enabled;
        // enabling starts a new run: earlier failures no longer count towards disabling it
        if (p.enabled) Object.assign(row, { failing_since: null, disabled_reason: null });
      }
      if (p.disabledReason !== undefined) row.disabled_reason = p.disabledReason;
      await db('webhook_endpoints').where({ id }).update(row);
    },

    async deleteEndpoint(id) {
      return db.transaction(async (trx) => {
        await trx('webhook_deliveries').where({ endpoint_id: id }).delete();
        return (await trx('webhook_endpoints').where({ id }).delete()) > 0;
      });
    },

    async recordEndpointOutcome(id, ok, now) {
      if (ok) await db('webhook_endpoints').where({ id }).whereNotNull('failing_since').update({ failing_since: null });
      else await db('webhook_endpoints').where({ id }).whereNull('failing_since').update({ failing_since: now });
      const r = await db('webhook_endpoints').where({ id }).first();
      return r ? endpointFromRow(r) : null;
    },

    async insertDeliveries(ds, now) {
      if (ds.length === 0) return;
      const rows = ds.map((d) => ({
        id: d.id,
        endpoint_id: d.endpointId,
        event_id: d.eventId,
        event_type: d.eventType,
        queue_key: d.queueKey,
        payload: d.payload,
        status: 'pending',
        queued: false,
        attempts: 0,
        created_at: now,
        queued_at: now,
      }));
      for (let i = 0; i < rows.length; i += 100) await db('webhook_deliveries').insert(rows.slice(i, i + 100)).onConflict('id').ignore();
    },

    async getDelivery(id) {
      const r = await db('webhook_deliveries').where({ id }).first();
      return r ? deliveryFromRow(r) : null;
    },

    async listDeliveries(endpointId, q) {
      const query = db('webhook_deliveries').where({ endpoint_id: endpointId });
      const b = q.before;
      if (b) query.andWhere((w) => w.where('created_at', '<', b.createdAt).orWhere((w2) => w2.where('created_at', '=', b.createdAt).andWhere('id', '<', b.id)));
      return (await query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(q.limit)).map(deliveryFromRow);
    },

    async listUnqueued(limit) {
      const rows = await db('webhook_deliveries').where({ queued: false }).orderBy([{ column: 'queued_at' }, { column: 'event_id' }, { column: 'id' }]).limit(limit);
      return rows.map(deliveryFromRow);
    },

    async laneHasQueued(endpointId, queueKey) {
      const row = await db('webhook_deliveries').where({ endpoint_id: endpointId, queue_key: queueKey, status: 'pending', queued: true }).first('id');
      return row !== undefined;
    },

    async markQueued(ids) {
      for (let i = 0; i < ids.length; i += 500) await db('webhook_deliveries').whereIn('id', ids.slice(i, i + 500)).update({ queued: true });
    },

    async requeue(id, now) {
      return (await db('webhook_deliveries').where({ id }).update({ status: 'pending', queued: false, queued_at: now, delivered_at: null })) > 0;
    },

    async recordAttempt(id, a, now) {
      await db('webhook_deliveries')
        .where({ id })
        .update({
          attempts: db.raw('attempts + 1'),
          last_attempt_at: now,
          last_status_code: a.statusCode,
          last_response: a.response,
          last_error: a.error,
          ...(a.ok ? { status: 'delivered', delivered_at: now } : {}),
        });
    },

    async markFailed(id, error, now) {
      await db('webhook_deliveries').where({ id, status: 'pending' }).update({ status: 'failed', last_error: error, last_attempt_at: db.raw('coalesce(last_attempt_at, ?)', [now]) });
    },

    getCursor: () => sqlWebhookCursor(db),

    async setCursor(eventId) {
      await db('webhook_cursor').insert({ name: CURSOR, event_id: eventId }).onConflict('name').merge();
    },
  };
}
