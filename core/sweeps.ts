/**
 * The scheduled sweeps' vocabulary and their pure decisions: inputs and results (plain JSON:
 * they travel through workflow histories), which Nomad jobs and volumes are orphans, which
 * auto-stop rules a stored template version carries. No I/O; the activities feed these facts.
 */
import type { AutoStopTemplate } from './auto-stop';
import { TRANSITIONAL_PHASES, type SpacePhase } from './lifecycle';
import { idTime } from './names';
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
}

export interface OrphanJobsResult {
  checked: number;
  purged: number;
  failed: number;
}

export interface OrphanVolumesResult {
  checked: number;
  deleted: number;
  failed: number;
}

export interface StuckOperationsResult {
  checked: number;
  markedFailed: number;
}

export interface PurgeDeletedResult {
  purged: number;
}

export interface CleanupSweepInput {
  /** deleted spaces are forgotten this long after deletion (`server.schedules.deleted_retention`) */
  deletedRetentionMs?: number;
  /** leave jobs and volumes of very recent objects for the next sweep */
  jobGraceMs?: number;
  volumeGraceMs?: number;
}

export interface CleanupSweepResult {
  jobs: OrphanJobsResult | null;
  volumes: OrphanVolumesResult | null;
  stuckOperations: StuckOperationsResult | null;
  deletedSpaces: PurgeDeletedResult | null;
  /** parts that failed past their retries, with why; the other parts still ran */
  errors: string[];
}

// ---- orphan detection ----

/** 26-character knot ids (ULIDs, Crockford lowercase) standing alone inside a volume name. */
const EMBEDDED_ID = /(?<![0-9a-z])[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])/g;

export function embeddedIds(name: string): string[] {
  return [...new Set(name.match(EMBEDDED_ID) ?? [])];
}

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

/** Nomad's SubmitTime is in nanoseconds: whether a job was submitted less than `graceMs` ago. */
export function submittedWithin(submitTimeNs: number, now: number, graceMs: number): boolean {
  return now - Math.floor(submitTimeNs / 1e6) < graceMs;
}

/** What the store knows about the ids embedded in volume names. */
export interface KnownIds {
  liveSpaces: ReadonlySet<string>;
  deletedSpaces: ReadonlySet<string>;
  /** users, templates and groups */
  otherObjects: ReadonlySet<string>;
}

/**
 * Whether an id inside a volume name stands for something gone: a deleted space, or an id the
 * store does not know at all (a space long purged) whose time is at least `graceMs` ago.
 */
export function idIsGone(id: string, known: KnownIds, now: number, graceMs: number): boolean {
  if (known.deletedSpaces.has(id)) return true;
  return !known.liveSpaces.has(id) && !known.otherObjects.has(id) && now - idTime(id) >= graceMs;
}

/** A volume is an orphan candidate when it names knot ids and every one of them is gone. */
export function volumeIsOrphanCandidate(ids: readonly string[], known: KnownIds, now: number, graceMs: number): boolean {
  return ids.length > 0 && ids.every((id) => idIsGone(id, known, now, graceMs));
}

// ---- stuck operations ----

export function stuckOperationMessage(type: string, deadlineAt: number): string {
  return `the ${type} operation passed its deadline (${new Date(deadlineAt).toISOString()}) and its workflow is not running`;
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
