/**
 * Step records. The workflow names the step an activity performs (`step` in its input); this
 * wrapper opens the step before the activity runs and closes it when it succeeds, each with an
 * event for the live stream. The records ride inside activities the workflow runs anyway, so
 * recording steps adds no command to any workflow history.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import type { StepRef } from '../core/events';
import { isKnotError } from '../core/errors';
import { recordEvent } from '../store/events';
import { finishStep, startStep } from '../store/operation-steps';
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

/** Opens the step (once, whatever the retries) and emits `operation.step` running. */
export async function openStep(deps: Pick<ActivityDeps, 'db' | 'clock'>, step: StepRef): Promise<void> {
  const now = deps.clock();
  if (await startStep(deps.db, step.operationId, step.name, now, step.closeOpenAs)) {
    await recordEvent(deps.db, { type: 'operation.step', spaceId: step.spaceId, operationId: step.operationId, step: step.name, stepStatus: 'running' }, now);
  }
}

/** Closes the step if still open and emits its outcome with the duration. */
export async function closeStep(deps: Pick<ActivityDeps, 'db' | 'clock'>, step: StepRef, outcome: 'succeeded' | 'failed' | 'cancelled', message?: string): Promise<void> {
  const now = deps.clock();
  const durationMs = await finishStep(deps.db, step.operationId, step.name, outcome, now, message);
  if (durationMs === null) return;
  await recordEvent(deps.db, { type: 'operation.step', spaceId: step.spaceId, operationId: step.operationId, step: step.name, stepStatus: outcome, durationMs }, now);
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
          await recordEvent(
            deps.db,
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
