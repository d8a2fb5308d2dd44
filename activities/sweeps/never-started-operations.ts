/**
 * Operations recorded `pending` whose workflow never started (the API died between recording the
 * row and starting the run) are failed as `operation_not_started` within a cleanup sweep, instead
 * of blocking their space until a later request for it heals them (temporal/lifecycle-client.ts
 * `neverStarted`) or the stuck-operation pass fails them at the operation deadline (an hour).
 *
 * Only Temporal can tell such a row from one whose run is about to begin, so without a Temporal
 * client in the deps, or when it does not answer, the row is left for a later sweep.
 */
import { neverStartedOperationMessage, type NeverStartedOperationsResult } from '../../core/sweeps';
import type { CreatedCursor } from '../../store/model';
import { heartbeat } from '../context';
import { recordOperationFinished } from '../metrics';
import type { ActivityDeps } from '../deps';

/**
 * How old a `pending` operation without a run must be before this pass looks at it. The request
 * that recorded it starts its workflow within milliseconds, and retries a workflow id still in
 * Temporal's reuse interval for up to 5 s; lifecycle-client's NEVER_STARTED_AFTER_MS (5 s) heals
 * such a row on the next request. A minute is far past both, so a start merely slowed down (a
 * loaded Temporal, a paused process) is not failed under it, and still 59 minutes before the
 * operation deadline.
 */
export const NEVER_STARTED_AGE_MS = 60_000;

export function createNeverStartedOperationActivities(deps: ActivityDeps) {
  const log = deps.logger;

  return {
    async failNeverStartedOperations(input: { pageSize?: number } = {}): Promise<NeverStartedOperationsResult> {
      const pageSize = input.pageSize ?? 200;
      const result: NeverStartedOperationsResult = { checked: 0, markedFailed: 0, skipped: 0 };
      const workflows = deps.workflows;
      if (!workflows) return result;
      const before = deps.clock() - NEVER_STARTED_AGE_MS;
      let cursor: CreatedCursor | null = null;
      for (;;) {
        const page = await deps.store.operations.listNeverStarted(before, cursor, pageSize);
        for (const op of page) {
          result.checked++;
          let running: boolean;
          try {
            // no run id: the memo of the space's latest run must name this operation
            running = await workflows.isRunning({ id: op.id, workflowId: op.workflowId, runId: null });
          } catch (e) {
            // Temporal did not answer: it may run, leave the row for a later sweep
            log.warn({ operationId: op.id, spaceId: op.spaceId, error: (e as Error).message }, 'cleanup: could not ask Temporal about a pending operation');
            result.skipped++;
            continue;
          }
          if (running) continue;
          // its workflow may have begun since the page was read (markRunning sets the run id)
          const current = await deps.store.operations.get(op.id);
          if (!current || current.status !== 'pending' || current.runId) {
            result.skipped++;
            continue;
          }
          // The space is left alone: a workflow's first step records it as the space's last
          // operation (and moves its phase), so one that never ran changed nothing to undo there.
          const message = neverStartedOperationMessage(op.type, op.createdAt);
          // in one step with the check that it is still pending without a run (a run beginning now keeps it)
          if (await deps.store.operations.failNeverStarted(op.id, message, deps.clock())) {
            await recordOperationFinished(deps.metrics, deps.store, op.id);
            result.markedFailed++;
            log.warn({ operationId: op.id, spaceId: op.spaceId, type: op.type }, 'cleanup: failed an operation whose workflow never started');
          } else {
            result.skipped++;
          }
        }
        heartbeat(result);
        const last = page[page.length - 1];
        if (!last || page.length < pageSize) break;
        cursor = { createdAt: last.createdAt, id: last.id };
      }
      return result;
    },
  };
}
