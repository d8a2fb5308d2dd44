/**
 * The lifecycle vocabulary shared by the API, the workflows, the activities and the store:
 * operation types and statuses, space phases, workflow inputs and results (plain JSON: they
 * travel through workflow histories), failure reasons and the rules that decide what a phase
 * allows. Pure and free of node imports, so workflow code may import it.
 */
import { ErrorType, KnotError } from './errors';

export const OPERATION_TYPES = ['create', 'start', 'stop', 'update', 'restart', 'delete'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];
export const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];
/** An operation in one of these has not finished: its workflow owns the space. */
export const ACTIVE_OPERATION_STATUSES: readonly OperationStatus[] = ['pending', 'running'];

export const SPACE_PHASES = ['stopped', 'starting', 'running', 'stopping', 'deleting', 'failed', 'deleted'] as const;
export type SpacePhase = (typeof SPACE_PHASES)[number];
/** Phases an operation passes through; a space left in one by a dead operation is `failed` by the cleanup sweep. */
export const TRANSITIONAL_PHASES: readonly SpacePhase[] = ['starting', 'stopping', 'deleting'];
/**
 * Phases from which a space may be deleted: stopped, failed (the delete workflow makes sure no
 * job remains first), and deleting (a delete that failed half-way is run again).
 */
export const DELETABLE_PHASES: readonly SpacePhase[] = ['stopped', 'failed', 'deleting'];

/** The one "space not stopped" rule, used by the API (409 before starting) and the delete workflow. */
export function requireDeletable(space: { name: string; phase: SpacePhase }): void {
  if (DELETABLE_PHASES.includes(space.phase)) return;
  throw new KnotError(ErrorType.SpaceNotStopped, `space '${space.name}' is ${space.phase}; stop it before deleting it`, { details: { phase: space.phase } });
}

export type TemplateKind = 'nomad' | 'manual';

/**
 * The manual-space agent URL rule: a manual template needs one (the agent the user runs
 * elsewhere), any other template must not have one. The field error's message, or null.
 * `agentUrl` undefined means "not being set" (a PATCH that leaves it alone).
 */
export function agentUrlProblem(kind: TemplateKind, agentUrl: string | null | undefined): string | null {
  if (agentUrl === undefined) return null;
  if (kind === 'manual' && !agentUrl) return 'is required for manual templates';
  if (kind !== 'manual' && agentUrl) return 'is only for manual templates';
  return null;
}

/** `agentUrlProblem` as a typed validation error naming the field. */
export function checkAgentUrl(kind: TemplateKind, agentUrl: string | null | undefined): void {
  const problem = agentUrlProblem(kind, agentUrl);
  if (problem) throw new KnotError(ErrorType.Validation, `agentUrl ${problem}`, { errors: [{ path: 'agentUrl', message: problem }] });
}

/**
 * `space.reason` values: why a space is where it is. `<Reason>:<error type>` for a failed
 * operation (`StartFailed:start_timeout`), the bare reason otherwise.
 */
export const FailureReason = {
  CreateFailed: 'CreateFailed',
  StartFailed: 'StartFailed',
  StopFailed: 'StopFailed',
  UpdateRejected: 'UpdateRejected',
  DeleteFailed: 'DeleteFailed',
  CompensationIncomplete: 'CompensationIncomplete',
  VolumeCleanupPending: 'VolumeCleanupPending',
  OperationStuck: 'OperationStuck',
} as const;
export type FailureReasonName = (typeof FailureReason)[keyof typeof FailureReason];

export function failureReason(reason: FailureReasonName, errorType: string): string {
  return `${reason}:${errorType}`;
}

// ---- workflow inputs and results ----

export interface SpaceSpecChange {
  templateRef?: string;
  parameters?: Record<string, string | number | boolean>;
  shell?: string;
  agentUrl?: string | null;
}

export interface LifecycleInput {
  spaceId: string;
  operationId: string;
  type: OperationType;
  /** user id, or `system` for schedules */
  requestedBy: string;
  reason?: string;
  /** update only: the spec change to apply */
  spec?: SpaceSpecChange;
}

export interface CreateSpaceInput {
  operationId: string;
  spaceId: string;
  name: string;
  ownerId: string;
  templateId: string;
  templateRef: string;
  parameters: Record<string, string | number | boolean>;
  shell: string;
  agentUrl: string | null;
  requestedBy: string;
}

/** What a lifecycle workflow's begin answers (activities/space-records.ts `beginOperation`). */
export interface BeginAnswer {
  /** the space's phase as the operation first began; null: there is no such space */
  phase: SpacePhase | null;
  /** the job the space ran as the operation first began (null: none) */
  jobId?: string | null;
  /**
   * Only when an earlier run of the workflow task finished the operation (its worker died before
   * the task was recorded): how it ended; `phase` is then the space's phase now. Nothing is left to do.
   */
  finished?: { status: OperationStatus; errorType: string | null; errorMessage: string | null };
}

export interface LifecycleResult {
  spaceId: string;
  operationId: string;
  phase: string;
}

/** A lifecycle request other than create, as the API and the auto-stop sweep make it. */
export interface OperationRequest {
  spaceId: string;
  type: Exclude<OperationType, 'create'>;
  requestedBy: string;
  /** username for the KnotUser search attribute */
  ownerName: string;
  templateName: string;
  /** for the run's summary in the Temporal UI (the id when not given) */
  spaceName?: string;
  reason?: string;
  spec?: SpaceSpecChange;
}

/** What the `progress` query of a lifecycle workflow answers. */
export interface OperationProgress {
  operationId: string;
  type: OperationType;
  step: string;
}

/** The name of the progress query (defined in workflows/lifecycle.ts as `progressQuery`). */
export const PROGRESS_QUERY = 'progress';
