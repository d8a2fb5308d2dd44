/**
 * The scheduled sweeps' vocabulary and their pure decisions: inputs and results (plain JSON:
 * they travel through workflow histories), which Nomad jobs and volumes are orphans, which
 * auto-stop rules a stored template version carries. No I/O; the activities feed these facts.
 */
import type { AutoStopTemplate } from './auto-stop';
import { TRANSITIONAL_PHASES, type SpacePhase } from './lifecycle';
import { scheduleSchema } from './template';

// ---- inputs and results ----

export interface AutoStopSweepInput {
  /** `server.schedules.idle_timeout` in ms; 0 or absent: only templates' idleTimeout applies */
  idleTimeoutMs?: number;
  pageSize?: number;
  concurrency?: number;
}

export interface AutoStopSweepResult {
  scanned: number;
  /** stop operations started */
  stopped: number;
  /** due a stop but an operation was already running on the space */
  skipped: number;
  /** due a stop but starting it failed (logged; the next sweep tries again) */
  failed: number;
  /** the autostarts this run handled; absent from runs recorded before autostart existed */
  autostart?: AutostartSweepResult | null;
}

export interface AutostartSweepInput {
  pageSize?: number;
  /** due spaces started at once (default 50, as the auto-stop sweep's stops) */
  concurrency?: number;
}

export interface AutostartSweepResult {
  /** due autostarts handled (each due time once) */
  due: number;
  /** start operations started */
  started: number;
  /** due but not started, each with the reason in the space's events and the audit log */
  skipped: number;
  /** starting failed unexpectedly (logged and audited; tried again at the next due time) */
  failed: number;
}

export interface OrphanJobsResult {
  checked: number;
  purged: number;
  failed: number;
}

export interface OrphanVolumesResult {
  /** Nomad volumes knot has a record of */
  checked: number;
  deleted: number;
  /** orphans still claimed or used by an allocation: left for a later sweep */
  inUse: number;
  failed: number;
  /** records of deleted spaces whose volume Nomad no longer has, dropped */
  forgotten: number;
  /** a volume list that could not be read (e.g. host volumes); the other list was still swept */
  listErrors: string[];
}

export interface StuckOperationsResult {
  checked: number;
  markedFailed: number;
}

export interface NeverStartedOperationsResult {
  /** `pending` operations without a run, old enough to have started */
  checked: number;
  /** failed as `operation_not_started`: Temporal knows no running workflow of theirs */
  markedFailed: number;
  /** left: Temporal could not be asked, or the row moved meanwhile */
  skipped: number;
}

export interface PurgeDeletedResult {
  purged: number;
}

export interface PruneAuditResult {
  pruned: number;
}

export interface DormantSweepInput {
  /** how long before a dormant space's deletion its owner is warned (`server.schedules.dormant_warning`) */
  warningMs: number;
  pageSize?: number;
}

export interface DormantSweepResult {
  /** stopped spaces looked at */
  scanned: number;
  /** `space.dormant` warnings sent */
  warned: number;
  /** delete operations started (reason `dormant`) */
  deleted: number;
  /** due but changed meanwhile, or an operation was already running */
  skipped: number;
  /** starting the delete failed (logged; the next sweep tries again) */
  failed: number;
}

export interface CleanupSweepInput {
  /** deleted spaces are forgotten this long after deletion (`server.schedules.deleted_retention`) */
  deletedRetentionMs?: number;
  /** audit entries are dropped this long after they were recorded (`server.schedules.audit_retention`); 0: kept */
  auditRetentionMs?: number;
  /** dormant spaces' owners are warned this long before the deletion (`server.schedules.dormant_warning`); default 72h */
  dormantWarningMs?: number;
  /** leave jobs and volumes of very recent objects for the next sweep */
  jobGraceMs?: number;
  volumeGraceMs?: number;
}

export interface CleanupSweepResult {
  jobs: OrphanJobsResult | null;
  volumes: OrphanVolumesResult | null;
  stuckOperations: StuckOperationsResult | null;
  /** absent from runs recorded before never-started operations were failed early */
  neverStartedOperations?: NeverStartedOperationsResult | null;
  deletedSpaces: PurgeDeletedResult | null;
  /** absent from runs recorded before the audit log was bounded */
  auditLog?: PruneAuditResult | null;
  /** absent from runs recorded before dormant spaces were deleted */
  dormant?: DormantSweepResult | null;
  /** parts that failed past their retries, with why; the other parts still ran */
  errors: string[];
}

// ---- orphan detection ----

/** What the orphan-job rule needs to know about the space a job's meta names. */
export interface SpaceFacts {
  phase: SpacePhase;
  deleted: boolean;
  nomadJobId: string | null;
}

/**
 * Why a job carrying `knot_space_id` should be purged, or null to leave it. A space with an
 * operation in flight is never touched (that operation owns the job); a space still running this
 * very job keeps it.
 */
export function orphanJobReason(jobId: string, space: SpaceFacts | null, operationRunning: boolean): string | null {
  if (!space) return 'its space is unknown';
  if (space.deleted) return 'its space was deleted';
  if (operationRunning || TRANSITIONAL_PHASES.includes(space.phase)) return null;
  if (space.phase === 'running') return space.nomadJobId === jobId ? null : 'its space runs another job';
  return `its space is ${space.phase}`;
}

/**
 * Whether job list stubs asked for with `?meta=true` tell every job's meta, so a stub without
 * `Meta` is a job without meta (never knot's) and need not be read. Nomad 1.5+ answers `Meta`, but
 * leaves it out for jobs that have none; before 1.5 there is no `Meta` at all.
 */
export function listStubsCarryMeta(stubs: readonly { Meta?: unknown }[], agentVersion: string | null): boolean {
  if (stubs.some((s) => s.Meta !== undefined)) return true;
  const [major = 0, minor = 0] = (agentVersion ?? '').split('.').map((n) => Number.parseInt(n, 10) || 0);
  return major > 1 || (major === 1 && minor >= 5);
}

/** Nomad's SubmitTime is in nanoseconds: whether a job was submitted less than `graceMs` ago. */
export function submittedWithin(submitTimeNs: number, now: number, graceMs: number): boolean {
  return now - Math.floor(submitTimeNs / 1e6) < graceMs;
}

/** What the orphan-volume rule needs of knot's record of a volume. */
export interface VolumeRecordFacts {
  /** when the space that owns the record was deleted; null while it lives */
  spaceDeletedAt: number | null;
}

/**
 * A Nomad volume is an orphan only when knot has a record of it (a `space_volumes` row, written
 * before the volume was created) and the space holding that record was deleted at least `graceMs`
 * ago. A volume without a record is never knot's to delete, whatever its name looks like: a
 * foreign tool's volume may well embed something that looks like a knot id.
 */
export function volumeIsOrphan(record: VolumeRecordFacts | undefined, now: number, graceMs: number): boolean {
  return record !== undefined && record.spaceDeletedAt !== null && now - record.spaceDeletedAt >= graceMs;
}

// ---- stuck operations ----

export function stuckOperationMessage(type: string, deadlineAt: number): string {
  return `the ${type} operation passed its deadline (${new Date(deadlineAt).toISOString()}) and its workflow is not running`;
}

export function neverStartedOperationMessage(type: string, createdAt: number): string {
  return `the ${type} operation recorded at ${new Date(createdAt).toISOString()} never started its workflow`;
}

// ---- auto-stop ----

/** The auto-stop fields of a stored template version; a malformed schedule is ignored, not fatal. */
export function autoStopFields(content: Record<string, unknown>): AutoStopTemplate {
  const out: AutoStopTemplate = {};
  if (typeof content.maxUptime === 'string') out.maxUptime = content.maxUptime;
  if (typeof content.idleTimeout === 'string') out.idleTimeout = content.idleTimeout;
  const schedule = scheduleSchema.safeParse(content.schedule);
  if (content.schedule !== undefined && schedule.success) out.schedule = schedule.data;
  return out;
}
