/**
 * Lifecycle webhooks on Temporal. `webhookDispatcherWorkflow` (one per task queue, started by the
 * worker) keeps the dispatcher activity running: it follows the event log and hands deliveries to
 * `webhookQueueWorkflow`, one per (endpoint, space), which sends them one after the other — the
 * order of a space's events is kept per endpoint — each attempt an activity retried with backoff
 * for the configured window (default 26 h). Out of attempts, the delivery is `failed`
 * (redeliverable). Both continue-as-new before their histories grow long; the queue ends when it
 * has been empty for a minute (the next delivery starts it again: signalWithStart).
 */
import { condition, continueAsNew, isCancellation, proxyActivities, setHandler, workflowInfo, defineSignal, ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { KnotActivities } from '../activities';
import { WEBHOOK_DELIVER_SIGNAL, type WebhookRetry } from '../core/webhook-queue';

/** Delivery ids, in order (one id from a hand-over before they were batched). */
export const deliverSignal = defineSignal<[deliveryIds: string[] | string]>(WEBHOOK_DELIVER_SIGNAL);

export interface WebhookQueueInput {
  endpointId: string;
  /** the space id (`test` for test events) */
  queueKey: string;
  retry: WebhookRetry;
  /** deliveries carried over a continue-as-new */
  pending?: string[];
}

/** Deliveries handled before the queue continues as new. */
const DELIVERIES_PER_RUN = 200;
/** At most this many deliveries go to one activity (in order; it stops at the first failure). */
const DELIVERIES_PER_ATTEMPT = 50;
/** An empty queue waits this long for more before it ends. */
const IDLE_BEFORE_END = '1 minute';

function failureMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof ActivityFailure && cur.cause) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(e);
}

export async function webhookQueueWorkflow(input: WebhookQueueInput): Promise<{ handled: number }> {
  const queue: string[] = [...(input.pending ?? [])];
  let current: string[] = [];
  setHandler(deliverSignal, (ids) => {
    // a repeated hand-over (the dispatcher crashed before recording it) is dropped here, or skipped by the attempt
    for (const id of Array.isArray(ids) ? ids : [ids]) if (!current.includes(id) && !queue.includes(id)) queue.push(id);
  });
  const attempt = proxyActivities<KnotActivities>({
    startToCloseTimeout: input.retry.attemptTimeoutMs + 15_000,
    scheduleToCloseTimeout: input.retry.forMs,
    // the attempt heartbeats: a worker killed mid-attempt does not hold the queue for the whole start-to-close timeout
    ...(input.retry.heartbeatTimeoutMs ? { heartbeatTimeout: input.retry.heartbeatTimeoutMs } : {}),
    retry: { initialInterval: input.retry.initialMs, backoffCoefficient: 2, maximumInterval: input.retry.maxIntervalMs, nonRetryableErrorTypes: ['endpoint_disabled', 'config'] },
  });
  // bookkeeping: retried until the store answers
  const book = proxyActivities<KnotActivities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '30s' } });

  let handled = 0;
  for (;;) {
    if (queue.length === 0 && !(await condition(() => queue.length > 0, IDLE_BEFORE_END))) return { handled };
    current = queue.splice(0, DELIVERIES_PER_ATTEMPT);
    try {
      const { done } = await attempt.deliverWebhooks({ deliveryIds: current });
      // the one that failed (and those after it) go first again: the next attempt starts with it
      queue.unshift(...current.slice(Math.max(done, 1)));
      handled += Math.max(done, 1);
    } catch (e) {
      if (isCancellation(e)) throw e;
      // the first is out of attempts (or its endpoint disabled): failed, and the rest carry on
      await book.failWebhookDelivery({ deliveryId: current[0]!, error: failureMessage(e) });
      queue.unshift(...current.slice(1));
      handled++;
    }
    current = [];
    if (handled >= DELIVERIES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof webhookQueueWorkflow>({ ...input, pending: queue });
    }
  }
}

export interface WebhookDispatcherInput {
  /** how long one dispatcher activity runs before the workflow starts the next (default 5 min) */
  runForMs?: number;
  /** how often an idle dispatcher looks at the event log (default 200 ms) */
  pollMs?: number;
  /** a dead worker's dispatcher is taken over after this long (default 15 s) */
  heartbeatTimeoutMs?: number;
}

const RUNS_BEFORE_CONTINUE = 50;

export async function webhookDispatcherWorkflow(input: WebhookDispatcherInput = {}): Promise<void> {
  const runForMs = input.runForMs ?? 5 * 60_000;
  const follow = proxyActivities<KnotActivities>({
    startToCloseTimeout: runForMs + 60_000,
    heartbeatTimeout: input.heartbeatTimeoutMs ?? 15_000,
    // never gives up: a store outage only delays deliveries
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['config'] },
  });
  for (let i = 0; i < RUNS_BEFORE_CONTINUE; i++) {
    try {
      await follow.followWebhookEvents({ runForMs, pollMs: input.pollMs ?? 200 });
    } catch (e) {
      // a worker without webhook settings: say so in the history, and keep the workflow alive to retry later
      if (isCancellation(e) || !(e instanceof ActivityFailure && e.cause instanceof ApplicationFailure && e.cause.type === 'config')) throw e;
      await condition(() => false, '1 minute');
    }
  }
  await continueAsNew<typeof webhookDispatcherWorkflow>(input);
}
