/**
 * The sweeps Temporal Schedules start (`knot-auto-stop` every minute, `knot-cleanup` every 15
 * minutes). Each run is one short workflow; the schedule's overlap policy SKIP keeps a slow run
 * from piling up behind itself, and the next run retries whatever this one could not do, so the
 * activities get a small retry budget rather than a long one.
 */
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { KnotActivities } from '../activities';
import type {
  AutoStopSweepInput,
  AutoStopSweepResult,
  CleanupSweepInput,
  CleanupSweepResult,
} from '../core/sweeps';
import { summarizeFailure } from './failures';

/** Long page-by-page activities: a dead worker is noticed by the heartbeat and the retry resumes from the last page. */
const sweep = proxyActivities<KnotActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

export type { AutoStopSweepInput, AutoStopSweepResult, CleanupSweepInput, CleanupSweepResult } from '../core/sweeps';

/** Autostart joined the every-minute sweep after runs of it had been recorded. */
export const AUTOSTART_PATCH = 'auto-stop-sweep-autostart';

/**
 * Stops first, then autostarts. Autostart rides on this sweep rather than a Temporal Schedule per
 * space: one indexed read a minute serves any number of spaces, and the store stays the only truth
 * (no per-space schedule to create, update, pause and delete in step with every PATCH, transfer,
 * owner time zone change and delete). A failed autostart part does not fail the stops.
 */
export async function autoStopSweepWorkflow(input: AutoStopSweepInput = {}): Promise<AutoStopSweepResult> {
  const result = await sweep.autoStopSweep(input);
  if (patched(AUTOSTART_PATCH)) {
    try {
      result.autostart = await sweep.autostartSweep({});
    } catch (e) {
      log.warn('autostart part failed', { error: summarizeFailure(e).message });
      result.autostart = null;
    }
  }
  return result;
}

const DEFAULT_RETENTION_MS = 7 * 24 * 3600_000;
const DEFAULT_DORMANT_WARNING_MS = 72 * 3600_000;
/** Deleting dormant spaces joined the cleanup sweep after runs of it had been recorded. */
export const DORMANT_PATCH = 'cleanup-sweep-dormant';
const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 3600_000;
/** The audit-log part was added to the cleanup sweep after runs of it had been recorded. */
export const AUDIT_RETENTION_PATCH = 'cleanup-audit-retention';
/** Failing never-started operations within a sweep joined the cleanup sweep after runs of it had been recorded. */
export const NEVER_STARTED_PATCH = 'cleanup-sweep-never-started';

/**
 * Jobs first, then volumes: purging an orphan job releases its volume claims, so its volumes can
 * go in the same sweep (or the next, while claims drain). Each part runs even when an earlier
 * one failed (Nomad down does not keep stuck operations from being failed).
 */
export async function cleanupSweepWorkflow(input: CleanupSweepInput = {}): Promise<CleanupSweepResult> {
  const result: CleanupSweepResult = { jobs: null, volumes: null, stuckOperations: null, deletedSpaces: null, errors: [] };
  const part = async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (e) {
      const message = `${name}: ${summarizeFailure(e).message}`;
      log.warn('cleanup part failed', { part: name, error: message });
      result.errors.push(message);
      return null;
    }
  };
  result.jobs = await part('orphan jobs', () => sweep.cleanupOrphanJobs(input.jobGraceMs !== undefined ? { graceMs: input.jobGraceMs } : {}));
  result.volumes = await part('orphan volumes', () => sweep.cleanupOrphanVolumes(input.volumeGraceMs !== undefined ? { graceMs: input.volumeGraceMs } : {}));
  result.stuckOperations = await part('stuck operations', () => sweep.failStuckOperations({}));
  // after the stuck ones: an overdue row is failed there, with its space; here only younger ones
  if (patched(NEVER_STARTED_PATCH)) {
    result.neverStartedOperations = await part('never-started operations', () => sweep.failNeverStartedOperations({}));
  }
  result.deletedSpaces = await part('deleted spaces', () => sweep.purgeDeletedSpaces({ retentionMs: input.deletedRetentionMs ?? DEFAULT_RETENTION_MS }));
  const auditRetentionMs = input.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
  if (patched(AUDIT_RETENTION_PATCH)) {
    result.auditLog = auditRetentionMs > 0 ? await part('audit log', () => sweep.pruneAuditLog({ retentionMs: auditRetentionMs })) : null;
  }
  if (patched(DORMANT_PATCH)) {
    result.dormant = await part('dormant spaces', () => sweep.dormantSpacesSweep({ warningMs: input.dormantWarningMs ?? DEFAULT_DORMANT_WARNING_MS }));
  }
  return result;
}
