/** One error shape for every failed API call: the problem+json answer, typed. */
import type { ErrorTypeName } from '../core/errors';
import type { FieldError, Problem } from './types';

const PROBLEM_BASE = 'https://knot.dev/problems/';

export class KnotApiError extends Error {
  /** the stable last segment of the problem `type` (`not_found`, `operation_in_progress`, …) */
  readonly type: ErrorTypeName | 'method_not_allowed' | (string & {});
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldError[];
  readonly requestId: string | null;
  /** the whole problem document (extra members such as `operationId` included) */
  readonly problem: Record<string, unknown>;

  constructor(status: number, problem: Partial<Problem> & Record<string, unknown>) {
    const type = typeof problem.type === 'string' ? problem.type.replace(PROBLEM_BASE, '') : status >= 500 ? 'internal' : 'unknown';
    const detail = typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`;
    super(detail);
    this.name = 'KnotApiError';
    this.type = type;
    this.status = status;
    this.title = typeof problem.title === 'string' ? problem.title : '';
    this.detail = detail;
    this.errors = Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : [];
    this.requestId = typeof problem.requestId === 'string' ? problem.requestId : null;
    this.problem = problem;
  }
}

/** The request never got an answer: connection refused, DNS, or the timeout. */
export class KnotConnectionError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KnotConnectionError';
  }
}

export function isKnotApiError(e: unknown, type?: string): e is KnotApiError {
  return e instanceof KnotApiError && (type === undefined || e.type === type);
}
