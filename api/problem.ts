/**
 * Every error the API answers with is `application/problem+json` (RFC 9457). This module turns
 * anything thrown — KnotErrors, body-parser errors, knex/database outages, Temporal outages — into
 * a problem, and never leaks a stack trace or an internal message for 5xx it does not recognise.
 */
import type { Request, Response } from 'express';
import { ErrorType, KnotError, isKnotError, titleOf, type FieldError } from '../core/errors';

export const PROBLEM_BASE = 'https://knot.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

const DB_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
]);

/** knex/mysql2/better-sqlite3 errors that mean "the store is not reachable", not "bad query". */
export function isStoreUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; name?: unknown; message?: unknown; fatal?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  if (typeof err.code === 'string' && DB_CONNECTION_CODES.has(err.code)) return true;
  if (err.name === 'KnexTimeoutError') return true;
  const msg = typeof err.message === 'string' ? err.message : '';
  return /Timeout acquiring a connection|Unable to acquire a connection|pool is probably full|aborted|The database connection is not open|Connection lost|connect ECONNREFUSED/i.test(msg) && err.fatal !== false;
}

/** @temporalio/client errors that mean the Temporal frontend is unreachable (gRPC UNAVAILABLE etc). */
export function isTemporalUnavailable(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const err = cur as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    // gRPC status codes: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
    if ((err.name === 'ServiceError' || err.name === 'TransportError' || err.name === 'ConnectionError') && (err.code === undefined || err.code === 14 || err.code === 4)) return true;
    if (err.code === 14 && typeof err.message === 'string') return true;
    if (typeof err.message === 'string' && /Failed to connect before the deadline|tcp connect error|transport error/i.test(err.message)) return true;
    cur = err.cause;
  }
  return false;
}

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  message?: string;
  limit?: number;
}

function fromBodyParser(e: unknown): KnotError | null {
  const err = e as BodyParserError | null;
  if (!err || typeof err !== 'object' || typeof err.type !== 'string') return null;
  switch (err.type) {
    case 'entity.too.large':
      return new KnotError(ErrorType.PayloadTooLarge, `request body is larger than the limit of ${err.limit ?? 1048576} bytes`, {
        details: { limit: err.limit ?? 1048576 },
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new KnotError(ErrorType.UnsupportedMediaType, err.message ?? 'unsupported content encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'entity.verify.failed':
    case 'entity.parse.failed':
      return new KnotError(ErrorType.Validation, err.message ?? 'could not read the request body');
    default:
      return null;
  }
}

/** Maps anything thrown to a KnotError, and says whether it was unexpected (so it gets logged). */
export function toKnotError(e: unknown): { error: KnotError; unexpected: boolean } {
  if (isKnotError(e)) {
    // a KnotError caused by an outage (e.g. the store failing under a workflow) is still an outage
    if (e.type === ErrorType.Internal && (isStoreUnavailable(e.cause) || isTemporalUnavailable(e.cause))) {
      return { error: new KnotError(ErrorType.Unavailable, 'a backing service is unavailable; retry shortly'), unexpected: true };
    }
    return { error: e, unexpected: e.status >= 500 };
  }
  const bp = fromBodyParser(e);
  if (bp) return { error: bp, unexpected: false };
  if (isStoreUnavailable(e)) {
    return { error: new KnotError(ErrorType.Unavailable, 'the store (database) is unavailable; retry shortly', { details: { dependency: 'store' } }), unexpected: true };
  }
  if (isTemporalUnavailable(e)) {
    return { error: new KnotError(ErrorType.Unavailable, 'Temporal is unavailable; retry shortly', { details: { dependency: 'temporal' } }), unexpected: true };
  }
  return { error: new KnotError(ErrorType.Internal, 'internal error; the request id identifies it in the server log'), unexpected: true };
}

/** Detail keys that must never reach a client even when a KnotError carries them. */
const HIDDEN_DETAILS = new Set(['stack', 'cause', 'type', 'title', 'status', 'detail', 'instance', 'requestId', 'errors']);

export function problemOf(error: KnotError, req: Pick<Request, 'originalUrl'> & { id?: unknown }): Problem {
  const problem: Problem = {
    type: PROBLEM_BASE + error.type,
    title: error.title || titleOf(error.type),
    status: error.status,
    detail: error.message,
    instance: (req.originalUrl ?? '').split('?')[0] ?? '',
    requestId: typeof req.id === 'string' ? req.id : String(req.id ?? ''),
  };
  if (error.errors.length > 0) problem.errors = error.errors;
  for (const [k, v] of Object.entries(error.details)) if (!HIDDEN_DETAILS.has(k)) problem[k] = v;
  return problem;
}

export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}
