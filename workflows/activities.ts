/**
 * Activity proxies, grouped by timeout and retry needs and declared once. Activities are imported
 * as types only: workflow code stays deterministic.
 */
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { KnotActivities } from '../activities';
import { ErrorType, NON_RETRYABLE_TYPES } from '../core/errors';

/** Errors that repeating cannot fix (core/errors.ts decides); everything else is retried within the budget. */
const NON_RETRYABLE = [...NON_RETRYABLE_TYPES];

/**
 * Store bookkeeping and rendering: quick, idempotent, retried until the database answers. Local
 * activities run inside the workflow task, so they cost no extra round trip to the Temporal server
 * (a start has five of them); after a crash they simply run again, which their check-then-act allows.
 */
export const store = proxyLocalActivities<KnotActivities>({
  startToCloseTimeout: '40s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Forward steps against Nomad: a bounded budget, after which the saga compensates. On cancel the
 * workflow waits for a step in flight to finish: compensating while Nomad is still creating the
 * volume or registering the job would delete nothing and leak what the step creates afterwards.
 */
export const nomad = proxyActivities<KnotActivities>({
  startToCloseTimeout: '45s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  scheduleToCloseTimeout: '3m',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * The same forward steps as `nomad`, run as local activities (patch `nomad-steps-local`,
 * workflows/lifecycle.ts): creating a volume and registering the job are a few Nomad calls each, so
 * running them inside the workflow task, like the store steps around them, saves per step a workflow
 * task, an activity task and five history events, which is most of what the Temporal server spends
 * on a start. Same budget and retries as `nomad`; local activities wait for a cancelled step to end
 * by default (WAIT_CANCELLATION_COMPLETED), for the same reason. Backoffs past 10 s become timers.
 */
export const nomadSteps = proxyLocalActivities<KnotActivities>({
  startToCloseTimeout: '45s',
  scheduleToCloseTimeout: '3m',
  localRetryThreshold: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** A first try, local, before a heartbeating wait takes over: one attempt, bounded by the workflow's deadline. */
const FIRST_TRY = {
  startToCloseTimeout: '15s',
  localRetryThreshold: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 1 },
} as const;

/**
 * The first try of stopping a job (patch `stop-job-local`, workflows/lifecycle.ts `stopJob`): the
 * same `stopSpaceJob` (purge, wait until the allocations are terminal, revoke the start token, cut
 * the link) as a local activity under a deadline of a few seconds the workflow computes. A purge
 * usually settles well inside it, and then the stop costs no activity task and no workflow task of
 * its own. One attempt: on any failure but a cancellation (the allocations not yet terminal at the
 * deadline, Nomad or the store not answering) the heartbeating `waits(...)` activity takes over,
 * with its own retries and the operation's full deadline; purging again is a no-op there and the
 * wait resumes. Waits for a cancelled try to end (as `nomadSteps`): it is seconds at most.
 */
export const stopFirstTry = proxyLocalActivities<KnotActivities>(FIRST_TRY);

/**
 * The first try of a start's wait until the job is really running (patch `start-wait-local`,
 * workflows/lifecycle.ts `waitUntilRunning`): the same `waitForSpaceRunning` as a local activity
 * under a deadline of a few seconds, as `stopFirstTry` does for a stop. On the sandbox an allocation
 * is healthy in ~0.5 s, so a start is one workflow task and no activity task. One attempt; the
 * workflow falls back to the heartbeating `waits(...)` activity, with the start's full deadline and
 * its retries, unless the try ended in a final verdict (the allocation failed, nothing could be
 * placed).
 */
export const waitFirstTry = proxyLocalActivities<KnotActivities>(FIRST_TRY);

/** Compensation and teardown: must eventually succeed, so retried for a long time. */
export const cleanup = proxyActivities<KnotActivities>({
  startToCloseTimeout: '45s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [ErrorType.Conflict] },
});

/** Deleting volumes while claims drain (`volume in use` is retryable), within a bound. */
export const volumeDelete = proxyActivities<KnotActivities>({
  startToCloseTimeout: '45s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '250ms', backoffCoefficient: 1.5, maximumInterval: '5s', nonRetryableErrorTypes: [ErrorType.Conflict, ErrorType.NomadRequest] },
});

/**
 * `volumeDelete` as a local activity (patch `nomad-steps-local`): a delete is a few Nomad calls,
 * usually right the first time. While claims drain, attempts back off inside the worker (at most
 * 5 s apart) within the same 10-minute bound; the workflow task is kept alive meanwhile.
 */
export const volumeDeleteSteps = proxyLocalActivities<KnotActivities>({
  startToCloseTimeout: '45s',
  scheduleToCloseTimeout: '10m',
  localRetryThreshold: '10s',
  retry: { initialInterval: '250ms', backoffCoefficient: 1.5, maximumInterval: '5s', nonRetryableErrorTypes: [ErrorType.Conflict, ErrorType.NomadRequest] },
});

/** Manual spaces: the agent must answer /ping within this budget or the start fails. */
export const agent = proxyActivities<KnotActivities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '45s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Long waits with heartbeats: a dead worker is noticed within the heartbeat timeout and the wait
 * resumes elsewhere. The activity enforces its own deadline; schedule-to-close bounds the retries
 * around it, so a wait can never outlive its budget whatever Nomad does.
 */
export function waits(startToCloseMs: number) {
  return proxyActivities<KnotActivities>({
    startToCloseTimeout: startToCloseMs,
    scheduleToCloseTimeout: startToCloseMs + 60_000,
    heartbeatTimeout: '15s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE },
  });
}
