/**
 * Typed errors shared by activities, workflows and the API: the one error vocabulary.
 *
 * The `type` strings are stable: they travel inside Temporal ApplicationFailures (as the failure
 * type) and become the last segment of the problem+json `type` URI, so clients and operators can
 * match on them. Never rename one; add a new one instead. Every type string that reaches an
 * operation record or an HTTP answer is here, with its status, title and whether repeating the
 * step can help. Free of node imports: workflow code imports this file.
 */

export const ErrorType = {
  Validation: 'validation',
  NotFound: 'not_found',
  Conflict: 'conflict',
  OperationInProgress: 'operation_in_progress',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  RateLimited: 'rate_limited',
  MethodNotAllowed: 'method_not_allowed',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  Unavailable: 'unavailable',
  Config: 'config_invalid',
  TemplateRender: 'template_render',
  TemplateParse: 'template_parse',
  JobRejected: 'job_rejected',
  VolumeSpec: 'volume_spec_invalid',
  ParameterInvalid: 'parameter_invalid',
  EncryptionKeyMissing: 'encryption_key_missing',
  NomadRequest: 'nomad_request',
  NomadUnavailable: 'nomad_unavailable',
  NomadVolumeInUse: 'nomad_volume_in_use',
  PlacementFailed: 'placement_failed',
  AllocationFailed: 'allocation_failed',
  StartTimeout: 'start_timeout',
  AgentUnreachable: 'agent_unreachable',
  SpaceNotStopped: 'space_not_stopped',
  /** the operation was cancelled (POST /operations/:id/cancel) and compensated */
  Cancelled: 'cancelled',
  /** a start failed and undoing what it had done failed too: the space needs an operator */
  CompensationIncomplete: 'compensation_incomplete',
  /** the operation passed its deadline and its workflow is not running (cleanup sweep) */
  OperationStuck: 'operation_stuck',
  /** the operation's workflow never started; a later request superseded it */
  OperationNotStarted: 'operation_not_started',
  OperationFinished: 'operation_finished',
  /** an admin deactivating, demoting or deleting their own account: another admin must do it */
  SelfLockout: 'self_lockout',
  /** a create, start or update would take the owner past a quota (core/quotas.ts) */
  QuotaExceeded: 'quota_exceeded',
  /** a start outside the template's schedule windows; details.nextAllowedAt says when it may start */
  OutsideSchedule: 'outside_schedule',
  Internal: 'internal',
} as const;

export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * One problem with one input field; `path` is a JSON-pointer-like dotted path (`parameters.size`).
 * `line`/`column` (1-based) place a problem inside a text field such as a template's `job`.
 */
export interface FieldError {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

const HTTP_STATUS: Record<ErrorTypeName, number> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  operation_in_progress: 409,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  config_invalid: 500,
  template_render: 400,
  template_parse: 400,
  job_rejected: 400,
  volume_spec_invalid: 400,
  parameter_invalid: 400,
  encryption_key_missing: 400,
  nomad_request: 502,
  nomad_unavailable: 503,
  nomad_volume_in_use: 409,
  placement_failed: 502,
  allocation_failed: 502,
  start_timeout: 504,
  agent_unreachable: 502,
  space_not_stopped: 409,
  cancelled: 409,
  compensation_incomplete: 500,
  operation_stuck: 500,
  operation_not_started: 503,
  operation_finished: 409,
  self_lockout: 409,
  quota_exceeded: 403,
  outside_schedule: 409,
  internal: 500,
};

const TITLES: Record<ErrorTypeName, string> = {
  validation: 'Invalid request',
  not_found: 'Not found',
  conflict: 'Conflict',
  operation_in_progress: 'Another operation is running on this space',
  unauthorized: 'Authentication required',
  forbidden: 'Forbidden',
  rate_limited: 'Too many requests',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  unavailable: 'Service unavailable',
  config_invalid: 'Invalid configuration',
  template_render: 'Template does not render',
  template_parse: 'Template does not parse',
  job_rejected: "Nomad rejected the space's job",
  volume_spec_invalid: 'Invalid volume definition',
  parameter_invalid: 'Invalid parameter value',
  encryption_key_missing: 'Encryption key not configured',
  nomad_request: 'Nomad rejected the request',
  nomad_unavailable: 'Nomad unavailable',
  nomad_volume_in_use: 'Volume in use',
  placement_failed: 'Nomad could not place the space',
  allocation_failed: 'The space failed to start',
  start_timeout: 'The space did not start in time',
  agent_unreachable: 'Agent unreachable',
  space_not_stopped: 'Space is not stopped',
  cancelled: 'The operation was cancelled',
  compensation_incomplete: 'The failed operation could not be fully undone',
  operation_stuck: 'The operation stopped making progress',
  operation_not_started: 'The operation never started',
  operation_finished: 'The operation has already finished',
  self_lockout: 'You cannot lock yourself out',
  quota_exceeded: 'Quota exceeded',
  outside_schedule: "Outside the template's schedule",
  internal: 'Internal error',
};

/**
 * Failures that repeating the same step cannot fix: bad input, a refused request, a final
 * verdict from Nomad. Activities throw these non-retryable and the workflows' retry policies
 * list them (workflows/activities.ts), so both decide from this one table.
 */
const NOT_RETRYABLE: Record<ErrorTypeName, boolean> = {
  validation: true,
  not_found: true,
  conflict: true,
  operation_in_progress: false,
  unauthorized: true,
  forbidden: true,
  rate_limited: false,
  payload_too_large: true,
  unsupported_media_type: true,
  unavailable: false,
  config_invalid: true,
  template_render: true,
  template_parse: true,
  job_rejected: true,
  volume_spec_invalid: true,
  parameter_invalid: true,
  encryption_key_missing: true,
  nomad_request: true,
  nomad_unavailable: false,
  nomad_volume_in_use: false,
  placement_failed: true,
  allocation_failed: true,
  start_timeout: true,
  agent_unreachable: false,
  space_not_stopped: true,
  method_not_allowed: true,
  cancelled: true,
  compensation_incomplete: true,
  operation_stuck: true,
  operation_not_started: true,
  operation_finished: true,
  self_lockout: true,
  quota_exceeded: true,
  outside_schedule: true,
  internal: false,
};

/** Whether a failure of this type may succeed when the step is repeated (unknown types: yes). */
export function isRetryableType(type: string): boolean {
  return !(NOT_RETRYABLE as Record<string, boolean>)[type];
}

/** Every error type repeating cannot fix, for retry policies' `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_TYPES: readonly ErrorTypeName[] = (Object.keys(NOT_RETRYABLE) as ErrorTypeName[]).filter((t) => NOT_RETRYABLE[t]);

export class KnotError extends Error {
  readonly type: ErrorTypeName;
  readonly errors: FieldError[];
  /** Extra, JSON-serialisable facts for the API (e.g. the running operation id). */
  readonly details: Record<string, unknown>;
  /** Whether doing the same thing again may succeed (network blips, 5xx, volume in use); the type's default unless given. */
  readonly retryable: boolean;

  constructor(
    type: ErrorTypeName,
    message: string,
    opts: { errors?: FieldError[]; details?: Record<string, unknown>; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'KnotError';
    this.type = type;
    this.errors = opts.errors ?? [];
    this.details = opts.details ?? {};
    this.retryable = opts.retryable ?? isRetryableType(type);
  }

  get status(): number {
    return httpStatusOf(this.type);
  }

  get title(): string {
    return TITLES[this.type];
  }
}

export function httpStatusOf(type: string): number {
  return (HTTP_STATUS as Record<string, number>)[type] ?? 500;
}

export function titleOf(type: string): string {
  return (TITLES as Record<string, string>)[type] ?? 'Error';
}

/** Whether `type` is one of the catalog's types. */
export function isErrorType(type: string): type is ErrorTypeName {
  return Object.prototype.hasOwnProperty.call(HTTP_STATUS, type);
}

export function isKnotError(e: unknown): e is KnotError {
  return e instanceof KnotError;
}

export function validationError(errors: FieldError[], message?: string): KnotError {
  const detail = message ?? errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return new KnotError(ErrorType.Validation, detail, { errors });
}

export function notFound(what: string, id: string): KnotError {
  return new KnotError(ErrorType.NotFound, `${what} '${id}' not found`, { details: { resource: what, id } });
}

/** A unique value (a name, a hash) is taken: a conflict naming the field, as every store driver reports it. */
export function alreadyInUse(message: string, field: string): KnotError {
  return new KnotError(ErrorType.Conflict, message, { errors: [{ path: field, message: 'already in use' }], details: { field } });
}

export function conflict(message: string, details: Record<string, unknown> = {}): KnotError {
  return new KnotError(ErrorType.Conflict, message, { details });
}
