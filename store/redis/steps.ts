/**
 * The step timeline of an operation: one JSON array at `op:<id>:steps`, in seq order. An operation
 * has a handful of steps, so a change rewrites the array (in a transaction watching it).
 */
import type { OperationStep, StepClosing } from '../model';
import type { StepRepository } from '../store';
import type { Keys } from './keys';
import { readDoc, writeDoc, type Kv, type KvReader } from './kv';

export function redisSteps(kv: Kv, keys: Keys): StepRepository {
  const read = async (r: KvReader, operationId: string) => (await readDoc<OperationStep[]>(r, keys.steps(operationId))) ?? [];

  /** rewrites the timeline when `edit` answers a new one; answers what `edit` said */
  function change<T>(operationId: string, edit: (steps: OperationStep[]) => { steps: OperationStep[] | null; result: T }): Promise<T> {
    return kv.write(async (tx) => {
      const { steps, result } = edit(await read(tx, operationId));
      if (steps) writeDoc(tx, keys.steps(operationId), steps);
      return result;
    });
  }

  const close = (s: OperationStep, outcome: StepClosing, now: number, message: string | null): OperationStep => ({ ...s, outcome, finishedAt: now, message });

  return {
    start: (operationId: string, name: string, now: number, closeOpenAs: StepClosing = 'failed') =>
      change(operationId, (steps) => {
        if (steps.some((s) => s.name === name)) return { steps: null, result: false };
        // the workflow runs one step at a time: one still open was interrupted (its message stays)
        const closed = steps.map((s) => (s.outcome === 'running' ? { ...s, outcome: closeOpenAs, finishedAt: now } : s));
        const seq = steps.reduce((max, s) => Math.max(max, s.seq), 0) + 1;
        return { steps: [...closed, { seq, name, startedAt: now, finishedAt: null, outcome: 'running', message: null }], result: true };
      }),

    finish: (operationId: string, name: string, outcome: StepClosing, now: number, message?: string) =>
      change(operationId, (steps) => {
        const step = steps.find((s) => s.name === name);
        if (!step || step.outcome !== 'running') return { steps: null, result: null };
        return { steps: steps.map((s) => (s === step ? close(s, outcome, now, message ?? null) : s)), result: now - step.startedAt };
      }),

    closeOpen: (operationId: string, outcome: StepClosing, now: number, message?: string) =>
      change(operationId, (steps) => {
        if (!steps.some((s) => s.outcome === 'running')) return { steps: null, result: undefined };
        return { steps: steps.map((s) => (s.outcome === 'running' ? close(s, outcome, now, message ?? null) : s)), result: undefined };
      }),

    list: async (operationId) => (await read(kv.read, operationId)).sort((a, b) => a.seq - b.seq),
  };
}
