/** Operation step timelines on SQL (`operation_steps`), kept for good. */
import type { StepOutcome } from '../../core/events';
import type { OperationStep } from '../model';
import type { StepRepository } from '../store';
import type { Queryable } from './db';

export function sqlSteps(db: Queryable): StepRepository {
  return {
    async start(operationId, name, now, closeOpenAs = 'failed') {
      // an operation has a handful of steps: one read tells whether this one exists, which are open, the next seq
      const rows = (await db('operation_steps').where({ operation_id: operationId }).select('name', 'seq', 'outcome')) as { name: string; seq: unknown; outcome: string }[];
      if (rows.some((r) => r.name === name)) return false;
      if (rows.some((r) => r.outcome === 'running')) {
        await db('operation_steps').where({ operation_id: operationId, outcome: 'running' }).update({ outcome: closeOpenAs, finished_at: now });
      }
      const seq = rows.reduce((max, r) => Math.max(max, Number(r.seq)), 0) + 1;
      await db('operation_steps').insert({ operation_id: operationId, seq, name, started_at: now, outcome: 'running' });
      return true;
    },

    async finish(operationId, name, outcome, now, message) {
      const row = (await db('operation_steps').where({ operation_id: operationId, name }).first('started_at', 'outcome')) as { started_at: unknown; outcome: string } | undefined;
      if (!row || row.outcome !== 'running') return null;
      await db('operation_steps').where({ operation_id: operationId, name, outcome: 'running' }).update({ outcome, finished_at: now, message: message ?? null });
      return now - Number(row.started_at);
    },

    async closeOpen(operationId, outcome, now, message) {
      await db('operation_steps').where({ operation_id: operationId, outcome: 'running' }).update({ outcome, finished_at: now, message: message ?? null });
    },

    async list(operationId) {
      const rows = await db('operation_steps').where({ operation_id: operationId }).orderBy('seq');
      return rows.map(
        (r: Record<string, unknown>): OperationStep => ({
          seq: Number(r.seq),
          name: r.name as string,
          startedAt: Number(r.started_at),
          finishedAt: r.finished_at == null ? null : Number(r.finished_at),
          outcome: r.outcome as StepOutcome,
          message: (r.message as string | null) ?? null,
        }),
      );
    },
  };
}
