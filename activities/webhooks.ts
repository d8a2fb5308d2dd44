/**
 * Lifecycle webhooks on the worker. `followWebhookEvents` (the dispatcher, one at a time: its
 * workflow has a fixed id) follows the event log from the cursor the store keeps, turns each event
 * into deliveries for the endpoints subscribed to it, and records the deliveries and the new cursor
 * in one transaction: an event is either taken with all its deliveries or not taken. Then it hands
 * each delivery not yet queued to the workflow of its (endpoint, space) queue, in order, and marks
 * it queued; a crash in between hands it over again (the workflow and the attempt skip repeats).
 * `deliverWebhook` is one attempt; `failWebhookDelivery` closes a delivery out of attempts.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { decryptSecret } from '../core/crypto';
import {
  deliveryId,
  RESPONSE_EXCERPT_BYTES,
  takeContiguous,
  webhookBody,
  webhookHeaders,
  webhookSecretAad,
  webhookTypesOf,
  type WebhookContext,
} from '../core/webhooks';
import type { StoredEvent } from '../store/model';
import type { NewWebhookDelivery, WebhookDelivery } from '../store/webhook-model';
import type { ActivityDeps, WebhookDeps } from './deps';
import { sendWebhook } from './webhook-http';

export interface FollowInput {
  /** the activity returns after this long (the workflow calls it again) */
  runForMs: number;
  pollMs: number;
}

const EVENT_BATCH = 200;
const QUEUE_BATCH = 500;
/** MySQL hands out auto-increment ids before commit: a hole is an insert still in flight for this long */
const DEFAULT_GAP_GRACE_MS = 10_000;
/** queues handed over concurrently (each queue's deliveries one after the other, in order) */
const ENQUEUE_CONCURRENCY = 16;
/**
 * The dispatcher's own first attempt at a delivery waits at most this long: a slow receiver must
 * not hold every other lane (a timeout is a failed attempt; the queue workflow retries it with the
 * full attempt timeout).
 */
const INLINE_ATTEMPT_TIMEOUT_MS = 2_000;

function webhookDeps(deps: ActivityDeps): WebhookDeps {
  if (!deps.webhooks) throw ApplicationFailure.nonRetryable('webhooks are not configured on this worker', 'config');
  return deps.webhooks;
}

/** The space's owner, template and operation as the store has them now (names for the body). */
async function contextOf(deps: ActivityDeps, e: StoredEvent['event'], cache: Map<string, unknown>): Promise<WebhookContext> {
  const cached = async <T>(key: string, load: () => Promise<T>): Promise<T> => {
    if (!cache.has(key)) cache.set(key, await load());
    return cache.get(key) as T;
  };
  const space = await cached(`space:${e.spaceId}`, () => deps.store.spaces.get(e.spaceId));
  const owner = space ? await cached(`user:${space.ownerId}`, () => deps.store.users.get(space.ownerId)) : null;
  const template = space ? await cached(`template:${space.templateId}`, () => deps.store.templates.get(space.templateId)) : null;
  const op = e.operationId ? await deps.store.operations.get(e.operationId) : null;
  return {
    owner: space ? { id: space.ownerId, username: owner?.username ?? '' } : null,
    template: space ? { id: space.templateId, name: template?.name ?? '' } : null,
    operation: op
      ? { id: op.id, type: op.type, status: e.status ?? op.status, reason: op.reason, error: e.error ?? (op.errorType ? { type: op.errorType, message: op.errorMessage ?? '' } : null) }
      : null,
  };
}

/** Takes the events after the cursor that may be taken now; how many. */
async function takeEvents(deps: ActivityDeps, state: { gap: { id: number; since: number } | null }): Promise<number> {
  const { store } = deps;
  let cursor = await store.webhooks.getCursor();
  if (cursor === null) {
    // first run: nothing before now was subscribed to
    cursor = (await store.events.bounds()).newestId ?? 0;
    await store.webhooks.setCursor(cursor);
  }
  const rows = await store.events.after(cursor, { limit: EVENT_BATCH });
  const { take, gap } = takeContiguous(cursor, rows, state.gap, deps.clock(), deps.webhooks?.gapGraceMs ?? DEFAULT_GAP_GRACE_MS);
  state.gap = gap;
  const last = take[take.length - 1];
  if (!last) return 0;
  const endpoints = (await store.webhooks.listEndpoints()).filter((e) => e.enabled);
  const deliveries: NewWebhookDelivery[] = [];
  const cache = new Map<string, unknown>();
  for (const { id, event } of take) {
    const types = webhookTypesOf(event);
    const targets = endpoints.filter((ep) => id > ep.afterEventId && types.some((t) => ep.events.includes(t)));
    if (targets.length === 0) continue;
    const ctx = await contextOf(deps, event, cache);
    for (const t of types) {
      const payload = webhookBody(t, event, ctx);
      for (const ep of targets) {
        if (ep.events.includes(t)) deliveries.push({ id: deliveryId(ep.id, id, t), endpointId: ep.id, eventId: id, eventType: t, queueKey: event.spaceId, payload });
      }
    }
  }
  const now = deps.clock();
  await store.transaction(async (tx) => {
    await tx.webhooks.insertDeliveries(deliveries, now);
    await tx.webhooks.setCursor(last.id);
  });
  return take.length;
}

/**
 * Hands what is not queued yet on, each (endpoint, space) lane in order; how many. A lane with
 * nothing outstanding at its queue workflow is first attempted right here (the common case: one
 * event, a receiver that answers): a delivery then costs no Temporal round trip at all, and arrives
 * within the dispatcher's poll. From the first failure on, the rest of the lane goes to its queue
 * workflow (one signal), which retries with backoff; a lane the workflow still works on goes there
 * whole, behind what it holds. At-least-once either way: a crash between the request and its
 * record leaves the delivery unqueued and pending, to be sent again with the same id.
 */
async function handOver(deps: ActivityDeps, wh: WebhookDeps, beat: () => void): Promise<number> {
  const pending = await deps.store.webhooks.listUnqueued(QUEUE_BATCH);
  if (pending.length === 0) return 0;
  const queues = new Map<string, WebhookDelivery[]>();
  for (const d of pending) {
    const key = `${d.endpointId}/${d.queueKey}`;
    queues.set(key, [...(queues.get(key) ?? []), d]);
  }
  const lanes = [...queues.values()];
  const worker = async () => {
    for (let lane = lanes.shift(); lane; lane = lanes.shift()) {
      const { endpointId, queueKey } = lane[0]!;
      let sent = 0;
      if (wh.inlineFirstAttempt !== false && !(await deps.store.webhooks.laneHasQueued(endpointId, queueKey))) {
        for (const d of lane) {
          beat();
          try {
            await deliverOnce(deps, d.id, INLINE_ATTEMPT_TIMEOUT_MS);
          } catch {
            break;
          }
          sent++;
        }
        if (sent) await deps.store.webhooks.markQueued(lane.slice(0, sent).map((d) => d.id));
      }
      const rest = lane.slice(sent);
      if (rest.length === 0) continue;
      await wh.enqueue({ endpointId, queueKey, ids: rest.map((d) => d.id) }, wh.retry);
      await deps.store.webhooks.markQueued(rest.map((d) => d.id));
    }
  };
  await Promise.all(Array.from({ length: Math.min(ENQUEUE_CONCURRENCY, lanes.length) }, worker));
  return pending.length;
}

export function createWebhookActivities(deps: ActivityDeps) {
  return {
    /** The dispatcher: follows the event log for `runForMs`, heartbeating; the workflow calls it again. */
    async followWebhookEvents(input: FollowInput): Promise<{ events: number; handedOver: number }> {
      const wh = webhookDeps(deps);
      const until = Date.now() + input.runForMs;
      const state = { gap: null as { id: number; since: number } | null };
      let events = 0;
      let handedOver = 0;
      const ctx = Context.current();
      // a worker shutting down (or the workflow gone) cancels: rejects, and the retry resumes from the stored cursor
      const cancelled = ctx.cancelled;
      cancelled.catch(() => undefined);
      // the worker is stopping: return now (the workflow calls again on the next worker) rather than hold its drain
      const stopping = deps.stopping;
      const stopped = new Promise<void>((resolve) => (stopping?.aborted ? resolve() : stopping?.addEventListener('abort', () => resolve(), { once: true })));
      while (Date.now() < until && !stopping?.aborted) {
        ctx.heartbeat();
        const took = await takeEvents(deps, state);
        const handed = await handOver(deps, wh, () => ctx.heartbeat());
        events += took;
        handedOver += handed;
        if (took === 0 && handed === 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([new Promise((r) => (timer = setTimeout(r, input.pollMs))), cancelled, stopped]).finally(() => clearTimeout(timer));
        }
      }
      return { events, handedOver };
    },

    /** One attempt; throws (retried by the workflow's policy) when the receiver did not answer 2xx. */
    async deliverWebhook(input: { deliveryId: string }): Promise<'delivered' | 'skipped'> {
      // with a heartbeat timeout (server.webhooks.heartbeat_timeout), beat while the attempt runs
      const ctx = Context.current();
      const hb = ctx.info.heartbeatTimeoutMs;
      const beat = hb ? setInterval(() => ctx.heartbeat(), Math.max(100, Math.floor(hb / 3))) : undefined;
      try {
        return await deliverOnce(deps, input.deliveryId);
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Several deliveries of one queue, in order, in one activity (a Temporal round trip per
     * delivery capped the throughput): stops at the first that fails. Throws when the first fails
     * (the workflow's retry policy backs off and tries it again); a later failure returns how many
     * were handled before it, so the next call starts with it.
     */
    async deliverWebhooks(input: { deliveryIds: string[] }): Promise<{ done: number }> {
      const ctx = Context.current();
      const hb = ctx.info.heartbeatTimeoutMs;
      const beat = hb ? setInterval(() => ctx.heartbeat(), Math.max(100, Math.floor(hb / 3))) : undefined;
      try {
        let done = 0;
        for (const deliveryId of input.deliveryIds) {
          try {
            await deliverOnce(deps, deliveryId);
          } catch (e) {
            if (done === 0) throw e;
            return { done };
          }
          done++;
        }
        return { done };
      } finally {
        clearInterval(beat);
      }
    },

    /** The delivery is out of attempts (or its endpoint is disabled): `failed`, redeliverable. */
    async failWebhookDelivery(input: { deliveryId: string; error: string }): Promise<void> {
      await deps.store.webhooks.markFailed(input.deliveryId, input.error.slice(0, 1000), deps.clock());
    },
  };
}

/** One attempt; throws (retried by the workflow's policy) when the receiver did not answer 2xx. */
async function deliverOnce(deps: ActivityDeps, deliveryId: string, timeoutMs?: number): Promise<'delivered' | 'skipped'> {
  const wh = webhookDeps(deps);
  const { store } = deps;
  const d = await store.webhooks.getDelivery(deliveryId);
  // delivered already (a repeated hand-over), or its endpoint was deleted
  if (!d || d.status !== 'pending') return 'skipped';
  const ep = await store.webhooks.getEndpoint(d.endpointId);
  if (!ep) return 'skipped';
  if (!ep.enabled) throw ApplicationFailure.nonRetryable(`endpoint ${ep.id} is disabled`, 'endpoint_disabled');
  const secret = decryptSecret(ep.secretEncrypted, deps.settings.encryptKey, webhookSecretAad(ep.id));
  const res = await sendWebhook({
    url: ep.url,
    headers: webhookHeaders(secret, d.id, d.payload, deps.clock()),
    body: d.payload,
    timeoutMs: Math.min(timeoutMs ?? wh.retry.attemptTimeoutMs, wh.retry.attemptTimeoutMs),
    allowPrivate: wh.allowPrivateNetworks,
  });
  const ok = res.statusCode !== null && res.statusCode >= 200 && res.statusCode < 300;
  const error = res.error ?? (ok ? null : `HTTP ${res.statusCode}`);
  const now = deps.clock();
  await store.webhooks.recordAttempt(d.id, { ok, statusCode: res.statusCode, response: res.body?.slice(0, RESPONSE_EXCERPT_BYTES) ?? null, error }, now);
  const after = await store.webhooks.recordEndpointOutcome(ep.id, ok, now);
  if (ok) return 'delivered';
  if (after?.failingSince != null && now - after.failingSince >= wh.disableAfterMs) {
    await disableEndpoint(deps, ep.id, after.failingSince, now);
    throw ApplicationFailure.nonRetryable(`endpoint ${ep.id} disabled: failing since ${new Date(after.failingSince).toISOString()}`, 'endpoint_disabled');
  }
  throw ApplicationFailure.retryable(error ?? 'delivery failed', 'webhook_attempt_failed');
}

async function disableEndpoint(deps: ActivityDeps, endpointId: string, failingSince: number, now: number): Promise<void> {
  const reason = `failing since ${new Date(failingSince).toISOString()}`;
  await deps.store.transaction(async (tx) => {
    const ep = await tx.webhooks.getEndpoint(endpointId);
    if (!ep?.enabled) return;
    await tx.webhooks.updateEndpoint(endpointId, { enabled: false, disabledReason: reason }, now);
    await tx.audit.append({ at: now, actorId: null, actor: 'system', action: 'webhook.disable', resourceType: 'webhook', resourceId: endpointId, outcome: 'ok', detail: { reason, url: ep.url } });
  });
  deps.logger.warn({ endpointId, failingSince }, 'webhook endpoint disabled after failing too long');
}
