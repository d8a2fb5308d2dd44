/** Reading Temporal failure chains inside workflow code (deterministic, no I/O). */
import { ApplicationFailure, CancelledFailure, TimeoutFailure, isCancellation } from '@temporalio/workflow';

export interface FailureSummary {
  type: string;
  message: string;
  cancelled: boolean;
}

/** The innermost ApplicationFailure's type and message, or a description of the timeout/cancel. */
export function summarizeFailure(e: unknown): FailureSummary {
  if (isCancellation(e)) return { type: 'cancelled', message: 'the operation was cancelled', cancelled: true };
  let cur: unknown = e;
  let app: ApplicationFailure | null = null;
  let timeout: TimeoutFailure | null = null;
  for (let i = 0; i < 10 && cur; i++) {
    if (cur instanceof ApplicationFailure) app = cur;
    if (cur instanceof TimeoutFailure) timeout = cur;
    if (cur instanceof CancelledFailure) return { type: 'cancelled', message: 'the operation was cancelled', cancelled: true };
    cur = (cur as { cause?: unknown }).cause;
  }
  if (app) {
    const retriesExhausted = timeout !== null || app.nonRetryable === false;
    return {
      type: app.type ?? 'internal',
      message: retriesExhausted && app.type?.startsWith('nomad') ? `Nomad kept failing past the retry budget: ${app.message}` : app.message,
      cancelled: false,
    };
  }
  if (timeout) return { type: 'nomad_unavailable', message: `a step timed out (${timeout.timeoutType}) past its retry budget`, cancelled: false };
  return { type: 'internal', message: (e as Error)?.message ?? String(e), cancelled: false };
}
