/** Operation step timelines on SQL (`operation_steps`), kept for good. */
import type { StepOutcome } from '../../core/events';
import type { OperationStep } from '../model';
import type { StepRepository } from '../store';
import type { Queryable } from './db';
import { run, selectFirst, selectRows } from './fast-sql';

/** Closes what is still running; the operation's steps, or one of them (`name`). */
const CLOSE_RUNNING = 'update `operation_steps` set `outcome` = ?, `finished_at` = ?, `message` = ? where `operation_id` = ? and `outcome` = ?';

// every step of every operation starts and finishes here: hand-written SQL on the fast path (fast-sql.ts)
export function sqlSteps(db: Queryable): StepRepository {
  return {
    async start(operationId, name, now, closeOpenAs = 'failed') {
      // an operation has a handful of steps: one read tells whether this one exists, which are open, the next seq
      const rows = (await selectRows(db, 'select `name`, `seq`, `outcome` from `operation_steps` where `operation_id` = ?', [operationId])) as { name: string; seq: unknown; outcome: string }[];
      if (rows.some((r) => r.name === name)) return false;
      if (rows.some((r) => r.outcome === 'running')) {
        await run(db, 'update `operation_steps` set `outcome` = ?, `finished_at` = ? where `operation_id` = ? and `outcome` = ?', [closeOpenAs, now, operationId, 'running']);
      }
      const seq = rows.reduce((max, r) => Math.max(max, Number(r.seq)), 0) + 1;
      await run(db, 'insert into `operation_steps` (`name`, `operation_id`, `outcome`, `seq`, `started_at`) values (?, ?, ?, ?, ?)', [name, operationId, 'running', seq, now]);
      return true;
    },

    async finish(operationId, name, outcome, now, message) {
      const row = (await selectFirst(db, 'select `started_at`, `outcome` from `operation_steps` where `operation_id` = ? and `name` = ? limit 1', [operationId, name])) as { started_at: unknown; outcome: string } | undefined;
      if (!row || row.outcome !== 'running') return null;
      await run(db, `${CLOSE_RUNNING} and \`name\` = ?`, [outcome, now, message ?? null, operationId, 'running', name]);
      return now - Number(row.started_at);
    },

    async closeOpen(operationId, outcome, now, message) {
      await run(db, CLOSE_RUNNING, [outcome, now, message ?? null, operationId, 'running']);
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
