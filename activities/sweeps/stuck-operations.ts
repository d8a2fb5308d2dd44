/**
 * Operations still pending/running past their deadline whose workflow is no longer running (it
 * was terminated, or never started) are marked failed (`operation_stuck`), so the space accepts
 * operations again; a space left in a transitional phase by one becomes `failed`. Without a
 * Temporal client in the deps the deadline alone decides.
 */
import { ErrorType } from '../../core/errors';
import { FailureReason } from '../../core/lifecycle';
import { stuckOperationMessage, type StuckOperationsResult } from '../../core/sweeps';
import { heartbeat } from '../context';
import { recordOperationFinished } from '../metrics';
import type { ActivityDeps } from '../deps';

export function createStuckOperationActivities(deps: ActivityDeps) {
  const log = deps.logger;

  return {
    async failStuckOperations(input: { pageSize?: number } = {}): Promise<StuckOperationsResult> {
      const pageSize = input.pageSize ?? 200;
      const result: StuckOperationsResult = { checked: 0, markedFailed: 0 };
      const now = deps.clock();
      let cursor: { deadlineAt: number; id: string } | null = null;
      for (;;) {
        const page = await deps.store.operations.listOverdue(now, cursor, pageSize);
        for (const op of page) {
          result.checked++;
          if (deps.workflows && (await deps.workflows.isRunning(op))) continue;
          const message = stuckOperationMessage(op.type, op.deadlineAt ?? now);
          if (await deps.store.operations.finish(op.id, { status: 'failed', errorType: ErrorType.OperationStuck, errorMessage: message }, deps.clock())) {
            await recordOperationFinished(deps.metrics, deps.store, op.id);
          }
          await deps.store.spaces.failLeftByOperation(op.spaceId, op.id, FailureReason.OperationStuck, message, deps.clock());
          result.markedFailed++;
          log.warn({ operationId: op.id, spaceId: op.spaceId }, 'cleanup: marked a stuck operation failed');
        }
        heartbeat(result);
        const last = page[page.length - 1];
        if (!last || page.length < pageSize) break;
        cursor = { deadlineAt: last.deadlineAt ?? now, id: last.id };
      }
      return result;
    },
  };
}
