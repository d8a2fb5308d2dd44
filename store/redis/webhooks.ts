/**
 * Lifecycle webhooks on Redis: `webhook:<id>` with the ordered index `webhooks`,
 * `webhook-delivery:<id>` with the per-endpoint index `webhook:<id>:deliveries` (createdAt, id)
 * and `webhook-deliveries:unqueued` ((queuedAt, eventId, id): what the dispatcher still has to hand
 * to a queue workflow), and the dispatcher's cursor `webhook-dispatcher:cursor`.
 */
import { alreadyInUse } from '../../core/errors';
import type { WebhookRepository } from '../store';
import type { WebhookDelivery, WebhookEndpoint } from '../webhook-model';
import { LEX_MAX, LEX_MIN, idOfMember, lexExclusive, orderedMember, padNumber, type Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvReader, type KvWriter } from './kv';

/** The key names (kept here, beside the only code that uses them). */
export function webhookKeys(keys: Keys) {
  const p = keys.prefix;
  return {
    endpoint: (id: string) => `${p}webhook:${id}`,
    endpoints: `${p}webhooks`,
    delivery: (id: string) => `${p}webhook-delivery:${id}`,
    deliveriesOf: (endpointId: string) => `${p}webhook:${endpointId}:deliveries`,
    unqueued: `${p}webhook-deliveries:unqueued`,
    /** the lane's deliveries handed to its queue workflow and not done (pending and queued) */
    laneQueued: (endpointId: string, queueKey: string) => `${p}webhook:${endpointId}:lane:${queueKey}:queued`,
    cursor: `${p}webhook-dispatcher:cursor`,
  };
}

const unqueuedMember = (d: WebhookDelivery): string => `${padNumber(d.queuedAt)}:${padNumber(d.eventId ?? 0)}:${d.id}`;
const idOfUnqueued = (m: string): string => m.slice(2 * 17);

/** The dispatcher's cursor, for the event log's pruning (null: no dispatcher ever ran). */
export async function redisWebhookCursor(r: KvReader, keys: Keys): Promise<number | null> {
  const v = await r.get(webhookKeys(keys).cursor);
  return v === null ? null : Number(v);
}

export function redisWebhooks(kv: Kv, keys: Keys): WebhookRepository {
  const k = webhookKeys(keys);

  function putDelivery(tx: KvWriter, before: WebhookDelivery | null, d: WebhookDelivery): void {
    writeDoc(tx, k.delivery(d.id), d);
    if (before && !before.queued) tx.zrem(k.unqueued, unqueuedMember(before));
    if (!d.queued) tx.zadd(k.unqueued, unqueuedMember(d));
    if (d.queued && d.status === 'pending') tx.sadd(k.laneQueued(d.endpointId, d.queueKey), d.id);
    else if (before?.queued && before.status === 'pending') tx.srem(k.laneQueued(d.endpointId, d.queueKey), d.id);
  }

  const updateDelivery = (id: string, change: (d: WebhookDelivery) => WebhookDelivery | null) =>
    kv.write(async (tx) => {
      const d = await readDoc<WebhookDelivery>(tx, k.delivery(id));
      if (!d) return false;
      const next = change(d);
      if (next) putDelivery(tx, d, next);
      return true;
    });

  return {
    insertEndpoint: (e, now) =>
      kv.write(async (tx) => {
        if ((await tx.get(k.endpoint(e.id))) !== null) throw alreadyInUse('a webhook with this id already exists', 'id');
        const d: WebhookEndpoint = { ...e, createdAt: now, updatedAt: now, failingSince: null, disabledReason: null };
        writeDoc(tx, k.endpoint(e.id), d);
        tx.zadd(k.endpoints, orderedMember(now, e.id));
        return d;
      }),

    getEndpoint: (id) => readDoc<WebhookEndpoint>(kv.read, k.endpoint(id)),

    listEndpoints: async () => {
      const ids = (await kv.read.zrangeByLex(k.endpoints, { min: LEX_MIN, max: LEX_MAX })).map(idOfMember);
      return (await readDocs<WebhookEndpoint>(kv.read, ids.map(k.endpoint))).filter((d): d is WebhookEndpoint => d !== null);
    },

    updateEndpoint: (id, p, now) =>
      kv.write(async (tx) => {
        const d = await readDoc<WebhookEndpoint>(tx, k.endpoint(id));
        if (!d) return;
        const next: WebhookEndpoint = { ...d, updatedAt: now };
        if (p.url !== undefined) next.url = p.url;
        if (p.description !== undefined) next.description = p.description;
        if (p.events !== undefined) next.events = p.events;
        if (p.enabled !== undefined) {
          next.enabled = p.enabled;
          if (p.enabled) Object.assign(next, { failingSince: null, disabledReason: null });
        }
        if (p.disabledReason !== undefined) next.disabledReason = p.disabledReason;
        writeDoc(tx, k.endpoint(id), next);
      }),

    deleteEndpoint: (id) =>
      kv.write(async (tx) => {
        const d = await readDoc<WebhookEndpoint>(tx, k.endpoint(id));
        if (!d) return false;
        const ids = (await tx.zrangeByLex(k.deliveriesOf(id), { min: LEX_MIN, max: LEX_MAX })).map(idOfMember);
        const deliveries = await readDocs<WebhookDelivery>(tx, ids.map(k.delivery));
        for (const del of deliveries) {
          if (!del) continue;
          tx.del(k.delivery(del.id));
          if (!del.queued) tx.zrem(k.unqueued, unqueuedMember(del));
          tx.del(k.laneQueued(del.endpointId, del.queueKey));
        }
        tx.del(k.deliveriesOf(id));
        tx.del(k.endpoint(id));
        tx.zrem(k.endpoints, orderedMember(d.createdAt, id));
        return true;
      }),

    recordEndpointOutcome: (id, ok, now) =>
      kv.write(async (tx) => {
        const d = await readDoc<WebhookEndpoint>(tx, k.endpoint(id));
        if (!d) return null;
        const failingSince = ok ? null : (d.failingSince ?? now);
        if (failingSince === d.failingSince) return d;
        const next = { ...d, failingSince };
        writeDoc(tx, k.endpoint(id), next);
        return next;
      }),

    insertDeliveries: async (ds, now) => {
      for (let i = 0; i < ds.length; i += 100) {
        const part = ds.slice(i, i + 100);
        await kv.write(async (tx) => {
          const existing = await tx.mget(part.map((d) => k.delivery(d.id)));
          part.forEach((n, j) => {
            if (existing[j] !== null) return;
            const d: WebhookDelivery = {
              ...n,
              status: 'pending',
              queued: false,
              attempts: 0,
              lastAttemptAt: null,
              lastStatusCode: null,
              lastResponse: null,
              lastError: null,
              createdAt: now,
              queuedAt: now,
              deliveredAt: null,
            };
            putDelivery(tx, null, d);
            tx.zadd(k.deliveriesOf(d.endpointId), orderedMember(now, d.id));
          });
        });
      }
    },

    getDelivery: (id) => readDoc<WebhookDelivery>(kv.read, k.delivery(id)),

    listDeliveries: async (endpointId, q) => {
      const max = q.before ? lexExclusive(orderedMember(q.before.createdAt, q.before.id)) : LEX_MAX;
      const ids = (await kv.read.zrangeByLex(k.deliveriesOf(endpointId), { min: LEX_MIN, max, reverse: true, count: q.limit })).map(idOfMember);
      return (await readDocs<WebhookDelivery>(kv.read, ids.map(k.delivery))).filter((d): d is WebhookDelivery => d !== null);
    },

    listUnqueued: async (limit) => {
      const ids = (await kv.read.zrangeByLex(k.unqueued, { min: LEX_MIN, max: LEX_MAX, count: limit })).map(idOfUnqueued);
      return (await readDocs<WebhookDelivery>(kv.read, ids.map(k.delivery))).filter((d): d is WebhookDelivery => d !== null);
    },

    laneHasQueued: async (endpointId, queueKey) => (await kv.read.scard(k.laneQueued(endpointId, queueKey))) > 0,

    markQueued: async (ids) => {
      for (const id of ids) await updateDelivery(id, (d) => (d.queued ? null : { ...d, queued: true }));
    },

    requeue: (id, now) => updateDelivery(id, (d) => ({ ...d, status: 'pending', queued: false, queuedAt: now, deliveredAt: null })),

    recordAttempt: async (id, a, now) => {
      await updateDelivery(id, (d) => ({
        ...d,
        attempts: d.attempts + 1,
        lastAttemptAt: now,
        lastStatusCode: a.statusCode,
        lastResponse: a.response,
        lastError: a.error,
        ...(a.ok ? { status: 'delivered' as const, deliveredAt: now } : {}),
      }));
    },

    markFailed: async (id, error, now) => {
      await updateDelivery(id, (d) => (d.status !== 'pending' ? null : { ...d, status: 'failed', lastError: error, lastAttemptAt: d.lastAttemptAt ?? now }));
    },

    getCursor: () => redisWebhookCursor(kv.read, keys),

    setCursor: async (eventId) => {
      await kv.write(async (tx) => {
        tx.set(k.cursor, String(eventId));
      });
    },
  };
}
