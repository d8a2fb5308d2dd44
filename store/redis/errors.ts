/**
 * How Redis failures reach knot's callers: a lost connection is `unavailable` (the API answers
 * 503, activities retry), whatever command was in flight; a transaction that kept losing its race
 * is a `conflict` the caller may retry.
 */
import { ErrorType, KnotError } from '../../core/errors';

/** Node socket errors that mean "Redis cannot be reached right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'NR_CLOSED']);

/**
 * ioredis's messages for a connection that is gone, not writable, gave up retrying or timed out,
 * and Redis's own answers while it cannot serve (loading its data set, a replica without its
 * master, a script running too long).
 */
const UNAVAILABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|max retries per request|Command timed out|connect ETIMEDOUT|Connection timeout|connection close|None of the sentinels|^LOADING|^MASTERDOWN|^READONLY|^BUSY |^CLUSTERDOWN|^TRYAGAIN/i;

export function isConnectionFailure(e: unknown): boolean {
  if (e instanceof KnotError) return e.type === ErrorType.Unavailable;
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'AbortError') return true;
  return UNAVAILABLE_MESSAGE.test(e.message);
}

export function storeUnavailable(cause: unknown): KnotError {
  if (cause instanceof KnotError && cause.type === ErrorType.Unavailable) return cause;
  return new KnotError(ErrorType.Unavailable, 'the store (redis) is unavailable; retry shortly', { details: { dependency: 'store' }, cause });
}

/** Connection failures become `unavailable`; everything else (KnotErrors included) passes as it is. */
export function toStoreError(e: unknown): unknown {
  return isConnectionFailure(e) ? storeUnavailable(e) : e;
}

/** Runs one Redis call, translating a connection failure. */
export async function guarded<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw toStoreError(e);
  }
}

/** A transaction that lost its race this many times in a row gives up. */
export function storeBusy(): KnotError {
  return new KnotError(ErrorType.Conflict, 'the store is busy; retry', { details: { dependency: 'store' } });
}

/** A Redis answer the driver did not expect (a command inside EXEC failed, a corrupt record). */
export function storeInternal(message: string, cause?: unknown): KnotError {
  return new KnotError(ErrorType.Internal, `the store (redis): ${message}`, cause === undefined ? {} : { cause });
}
