/**
 * Activities throw ApplicationFailures whose `type` is knot's stable error type; non-retryable
 * when repeating cannot help (bad template, 4xx from Nomad), so a broken template fails fast
 * instead of retrying for minutes.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, KnotError, isKnotError } from '../core/errors';

export function toApplicationFailure(e: unknown): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  if (isKnotError(e)) {
    return ApplicationFailure.create({
      message: e.message,
      type: e.type,
      nonRetryable: !e.retryable,
      details: [{ errors: e.errors, details: e.details }],
    });
  }
  // Unknown errors (a DB hiccup, a bug) are retried: the retry policy bounds them.
  const err = e as Error;
  return ApplicationFailure.create({ message: err?.message ?? String(e), type: ErrorType.Internal, nonRetryable: false, cause: err instanceof Error ? err : undefined });
}

/** Wraps every function of an activities object so failures leave as ApplicationFailures. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        throw toApplicationFailure(e);
      }
    };
  }
  return out as T;
}

export function nonRetryable(type: KnotError['type'], message: string, details: Record<string, unknown> = {}): KnotError {
  return new KnotError(type, message, { retryable: false, details });
}
