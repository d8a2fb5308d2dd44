/**
 * Reading a failure's cause chain (Temporal's WorkflowFailedError → ActivityFailure →
 * ApplicationFailure …) into knot's error vocabulary, written once for the workflows (which
 * record it on the operation) and the lifecycle client (which answers the API with it). Generic
 * over how a link is recognised, so it stays free of Temporal and of node imports.
 */
import { ErrorType, type FieldError } from './errors';

/** How to recognise the links that matter; the callers pass Temporal's failure classes. */
export interface FailureKinds<App, Timeout> {
  isApplication(link: unknown): link is App;
  isTimeout(link: unknown): link is Timeout;
  isCancelled(link: unknown): boolean;
}

export interface FailureChain<App, Timeout> {
  /** the innermost application failure (an activity's typed error) */
  application: App | null;
  timeout: Timeout | null;
  cancelled: boolean;
}

/** Chains are short; the bound only protects against a cyclic `cause`. */
const MAX_DEPTH = 10;

export function readFailureChain<App, Timeout>(e: unknown, kinds: FailureKinds<App, Timeout>): FailureChain<App, Timeout> {
  const chain: FailureChain<App, Timeout> = { application: null, timeout: null, cancelled: false };
  let cur: unknown = e;
  for (let i = 0; i < MAX_DEPTH && cur; i++) {
    if (kinds.isApplication(cur)) chain.application = cur;
    if (kinds.isTimeout(cur)) chain.timeout = cur;
    if (kinds.isCancelled(cur)) {
      chain.cancelled = true;
      return chain;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return chain;
}

/** The parts of an application failure the mapping reads (Temporal's ApplicationFailure has them). */
export interface ApplicationLike {
  type?: string | null;
  message: string;
  nonRetryable?: boolean | null;
  details?: unknown[] | null;
}

export interface FailureSummary {
  type: string;
  message: string;
  cancelled: boolean;
  errors: FieldError[];
  details: Record<string, unknown>;
  /** the step was retried until its budget ran out (a timeout, or a retryable failure) */
  retriesExhausted: boolean;
}

export const CANCELLED_MESSAGE = 'the operation was cancelled';

/** The chain as knot's error: the innermost typed failure, or the timeout, or the cancellation. */
export function summarizeChain(chain: FailureChain<ApplicationLike, { timeoutType?: unknown }>, fallbackMessage: string): FailureSummary {
  const none = { errors: [] as FieldError[], details: {} as Record<string, unknown> };
  if (chain.cancelled) return { type: ErrorType.Cancelled, message: CANCELLED_MESSAGE, cancelled: true, retriesExhausted: false, ...none };
  const app = chain.application;
  if (app) {
    // activities put `{ errors, details }` first in the failure's details (activities/failure.ts)
    const first = (app.details?.[0] ?? {}) as { errors?: FieldError[]; details?: Record<string, unknown> };
    return {
      type: app.type ?? ErrorType.Internal,
      message: app.message,
      cancelled: false,
      errors: first.errors ?? [],
      details: first.details ?? {},
      retriesExhausted: chain.timeout !== null || app.nonRetryable === false,
    };
  }
  if (chain.timeout) {
    return { type: ErrorType.NomadUnavailable, message: `a step timed out (${String(chain.timeout.timeoutType)}) past its retry budget`, cancelled: false, retriesExhausted: true, ...none };
  }
  return { type: ErrorType.Internal, message: fallbackMessage, cancelled: false, retriesExhausted: false, ...none };
}
