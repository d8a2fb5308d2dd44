/** The step timeline of an operation: every step with its start, end and outcome, kept for good. */
import type { StepOutcome } from '../core/events';
import type { Db } from './db';

export interface OperationStep {
  seq: number;
  name: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: StepOutcome;
  message: string | null;
}

type Closing = Exclude<StepOutcome, 'running' | 'retrying'>;

/**
 * Opens a step (idempotent: an activity retry reopens nothing). The workflow runs its steps one at
 * a time, so a step still open when the next starts was interrupted: it is closed as `closeOpenAs`.
 * Returns false when the step already existed.
 */
export async function startStep(db: Db, operationId: string, name: string, now: number, closeOpenAs: Closing = 'failed'): Promise<boolean> {
  return db.transaction(async (trx) => {
    const existing = await trx('operation_steps').where({ operation_id: operationId, name }).first('seq');
    if (existing) return false;
    await trx('operation_steps').where({ operation_id: operationId, outcome: 'running' }).update({ outcome: closeOpenAs, finished_at: now });
    const last = (await trx('operation_steps').where({ operation_id: operationId }).max({ seq: 'seq' }).first()) as { seq: unknown } | undefined;
    await trx('operation_steps').insert({ operation_id: operationId, seq: Number(last?.seq ?? 0) + 1, name, started_at: now, outcome: 'running' });
    return true;
  });
}

/** Closes a step still open; returns its duration, or null when it was already closed. */
export async function finishStep(db: Db, operationId: string, name: string, outcome: Closing, now: number, message?: string): Promise<number | null> {
  const row = (await db('operation_steps').where({ operation_id: operationId, name }).first('started_at', 'outcome')) as { started_at: unknown; outcome: string } | undefined;
  if (!row || row.outcome !== 'running') return null;
  await db('operation_steps').where({ operation_id: operationId, name, outcome: 'running' }).update({ outcome, finished_at: now, message: message ?? null });
  return now - Number(row.started_at);
}

/** The end of an operation closes whatever step was still open with the operation's outcome. */
export async function closeOpenSteps(db: Db, operationId: string, outcome: Closing, now: number, message?: string): Promise<void> {
  await db('operation_steps').where({ operation_id: operationId, outcome: 'running' }).update({ outcome, finished_at: now, message: message ?? null });
}

export async function listSteps(db: Db, operationId: string): Promise<OperationStep[]> {
  const rows = await db('operation_steps').where({ operation_id: operationId }).orderBy('seq');
  return rows.map((r: Record<string, unknown>) => ({
    seq: Number(r.seq),
    name: r.name as string,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at == null ? null : Number(r.finished_at),
    outcome: r.outcome as StepOutcome,
    message: (r.message as string | null) ?? null,
  }));
}
