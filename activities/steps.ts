/**
 * Step records. The workflow names the step an activity performs (`step` in its input); this
 * wrapper opens the step before the activity runs and closes it when it succeeds, each with an
 * event for the live stream. The records ride inside activities the workflow runs anyway, so
 * recording steps adds no command to any workflow history.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import type { StepRef } from '../core/events';
import { isKnotError } from '../core/errors';
import type { ActivityDeps } from './deps';

function stepOf(args: unknown[]): StepRef | null {
  const input = args[0] as { step?: StepRef } | undefined;
  const step = input && typeof input === 'object' ? input.step : undefined;
  return step && typeof step.operationId === 'string' && typeof step.name === 'string' ? step : null;
}

function cancelled(e: unknown): boolean {
  if (e instanceof CancelledFailure) return true;
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

const STEP_RECORDS = { stepRecordsOnly: true } as const;

/** Opens the step (once, whatever the retries) and emits `operation.step` running. */
export async function openStep(deps: Pick<ActivityDeps, 'store' | 'clock'>, step: StepRef): Promise<void> {
  const now = deps.clock();
  // the step and its event commit together: one write on the lifecycle's path, not two
  await deps.store.transaction(async (tx) => {
    if (await tx.steps.start(step.operationId, step.name, now, step.closeOpenAs)) {
      await tx.events.append({ type: 'operation.step', spaceId: step.spaceId, operationId: step.operationId, step: step.name, stepStatus: 'running' }, now);
    }
  }, STEP_RECORDS);
}

/** Closes the step if still open and emits its outcome with the duration. */
export async function closeStep(deps: Pick<ActivityDeps, 'store' | 'clock'>, step: StepRef, outcome: 'succeeded' | 'failed' | 'cancelled', message?: string): Promise<void> {
  const now = deps.clock();
  await deps.store.transaction(async (tx) => {
    const durationMs = await tx.steps.finish(step.operationId, step.name, outcome, now, message);
    if (durationMs !== null) {
      await tx.events.append({ type: 'operation.step', spaceId: step.spaceId, operationId: step.operationId, step: step.name, stepStatus: outcome, durationMs }, now);
    }
  }, STEP_RECORDS);
}

export function withStepRecording<T extends Record<string, (...args: never[]) => Promise<unknown>>>(deps: ActivityDeps, activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      const step = stepOf(args);
      if (!step) return fn(...args);
      await openStep(deps, step);
      try {
        const result = await fn(...args);
        await closeStep(deps, step, 'succeeded');
        return result;
      } catch (e) {
        if (cancelled(e)) {
          await closeStep(deps, step, 'cancelled').catch(() => undefined);
        } else if (!isKnotError(e) || e.retryable) {
          // the step stays open: Temporal retries it; the stream says why it is taking longer
          await deps.store.events.append(
            { type: 'operation.step', spaceId: step.spaceId, operationId: step.operationId, step: step.name, stepStatus: 'retrying', error: { type: isKnotError(e) ? e.type : 'internal', message: (e as Error).message?.slice(0, 500) ?? String(e) } },
            deps.clock(),
          ).catch(() => undefined);
        }
        // a final failure is closed by the workflow's end (finishOperation) or its compensation
        throw e;
      }
    };
  }
  return out as T;
}
