/**
 * Worker-side metrics: each activity attempt timed by name and outcome (the workflow steps), the
 * sweeps' results, and operations started/finished (counted once, when the store row actually
 * moves, so retries and replays do not count twice).
 */
import type { KnotMetrics } from '../metrics/metrics';
import type { Store } from '../store/store';

const SWEEPS = new Set(['autoStopSweep', 'cleanupOrphanJobs', 'cleanupOrphanVolumes', 'failStuckOperations', 'failNeverStartedOperations', 'purgeDeletedSpaces']);

/** Wraps every activity so its duration (and, for sweeps, its result counts) are recorded. */
export function withActivityMetrics<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, metrics: KnotMetrics | undefined): T {
  if (!metrics) return activities;
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      const end = metrics.activityDuration.startTimer({ activity: name });
      try {
        const result = await fn(...args);
        end({ outcome: 'ok' });
        if (SWEEPS.has(name)) recordSweep(metrics, name, result);
        return result;
      } catch (e) {
        end({ outcome: 'error' });
        if (SWEEPS.has(name)) metrics.sweepRuns.inc({ sweep: name, outcome: 'error' });
        throw e;
      }
    };
  }
  return out as T;
}

function recordSweep(metrics: KnotMetrics, sweep: string, result: unknown): void {
  metrics.sweepRuns.inc({ sweep, outcome: 'ok' });
  if (!result || typeof result !== 'object') return;
  // the result objects' numeric fields are a fixed set per sweep (scanned, stopped, purged, ...)
  for (const [field, value] of Object.entries(result as Record<string, unknown>)) {
    if (typeof value === 'number' && value > 0) metrics.sweepItems.inc({ sweep, result: field }, value);
  }
}

/** Counts the start of an operation (call only when the store says it moved from pending). */
export async function recordOperationStarted(metrics: KnotMetrics | undefined, store: Store, operationId: string): Promise<void> {
  if (!metrics) return;
  const op = await store.operations.get(operationId);
  if (op) metrics.operationsStarted.inc({ type: op.type });
}

/** Counts the end of an operation with its duration (call only when this caller finished it). */
export async function recordOperationFinished(metrics: KnotMetrics | undefined, store: Store, operationId: string): Promise<void> {
  if (!metrics) return;
  const op = await store.operations.get(operationId);
  if (!op || op.status === 'pending' || op.status === 'running') return;
  metrics.operationsFinished.inc({ type: op.type, outcome: op.status });
  const from = op.startedAt ?? op.createdAt;
  if (op.finishedAt !== null) metrics.operationDuration.observe({ type: op.type, outcome: op.status }, Math.max(0, op.finishedAt - from) / 1000);
}
