/** Operations: one lifecycle request = one workflow run. */
import type { Db } from './db';
import { chunks } from '../core/batches';
import { ACTIVE_OPERATION_STATUSES } from '../core/lifecycle';

import type { OperationStatus, OperationType } from '../core/lifecycle';

export { OPERATION_TYPES, OPERATION_STATUSES, type OperationStatus, type OperationType } from '../core/lifecycle';

export interface Operation {
  id: string;
  spaceId: string;
  type: OperationType;
  requestedBy: string;
  status: OperationStatus;
  reason: string;
  errorType: string | null;
  errorMessage: string | null;
  workflowId: string;
  runId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  deadlineAt: number | null;
}

function fromRow(r: Record<string, unknown>): Operation {
  const n = (v: unknown) => (v == null ? null : Number(v));
  return {
    id: r.id as string,
    spaceId: r.space_id as string,
    type: r.type as OperationType,
    requestedBy: r.requested_by as string,
    status: r.status as OperationStatus,
    reason: (r.reason as string) ?? '',
    errorType: (r.error_type as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    workflowId: r.workflow_id as string,
    runId: (r.run_id as string | null) ?? null,
    createdAt: Number(r.created_at),
    startedAt: n(r.started_at),
    finishedAt: n(r.finished_at),
    deadlineAt: n(r.deadline_at),
  };
}

export interface NewOperation {
  id: string;
  spaceId: string;
  type: OperationType;
  requestedBy: string;
  reason?: string;
  workflowId: string;
  deadlineAt: number | null;
}

export async function insertOperation(db: Db, op: NewOperation, now: number): Promise<Operation> {
  await db('operations').insert({
    id: op.id,
    space_id: op.spaceId,
    type: op.type,
    requested_by: op.requestedBy,
    status: 'pending',
    reason: op.reason ?? '',
    workflow_id: op.workflowId,
    created_at: now,
    deadline_at: op.deadlineAt,
  });
  return (await getOperation(db, op.id))!;
}

export async function getOperation(db: Db, id: string): Promise<Operation | null> {
  const r = await db('operations').where({ id }).first();
  return r ? fromRow(r) : null;
}

/** Many operations by id in one query (list views). */
export async function getOperations(db: Db, ids: readonly string[]): Promise<Map<string, Operation>> {
  if (ids.length === 0) return new Map();
  const rows = await db('operations').whereIn('id', [...ids]);
  return new Map(rows.map((r: Record<string, unknown>) => [r.id as string, fromRow(r)]));
}

export async function deleteOperation(db: Db, id: string): Promise<void> {
  await db('operations').where({ id }).delete();
}

export async function listOperations(db: Db, spaceId: string, limit = 50): Promise<Operation[]> {
  const rows = await db('operations').where({ space_id: spaceId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
  return rows.map(fromRow);
}

/** The operation of this space that is still pending or running, if any. */
export async function activeOperation(db: Db, spaceId: string, exceptId?: string): Promise<Operation | null> {
  const q = db('operations').where({ space_id: spaceId }).whereIn('status', ['pending', 'running']);
  if (exceptId) q.whereNot('id', exceptId);
  const r = await q.orderBy('created_at', 'desc').first();
  return r ? fromRow(r) : null;
}

/** True when this call moved the operation from pending to running (its first start). */
export async function markOperationRunning(db: Db, id: string, runId: string, now: number): Promise<boolean> {
  // only from pending/running: a retried activity or a replay must not move a finished operation back
  const started = await db('operations').where({ id, status: 'pending' }).update({ status: 'running', run_id: runId, started_at: now });
  if (started > 0) return true;
  await db('operations').where({ id, status: 'running' }).update({ run_id: runId, started_at: now });
  return false;
}

export async function finishOperation(
  db: Db,
  id: string,
  outcome: { status: 'succeeded' | 'failed' | 'cancelled'; errorType?: string | null; errorMessage?: string | null },
  now: number,
): Promise<boolean> {
  // true when this call finished it (not when it was finished already: retries, replays)
  const changed = await db('operations')
    .where({ id })
    .whereIn('status', ['pending', 'running'])
    .update({ status: outcome.status, error_type: outcome.errorType ?? null, error_message: outcome.errorMessage ?? null, finished_at: now });
  return changed > 0;
}

/** Which of these spaces have an operation pending or running. */
export async function activeOperationSpaceIds(db: Db, spaceIds: readonly string[]): Promise<Set<string>> {
  const busy = new Set<string>();
  for (const ids of chunks(spaceIds)) {
    const rows = await db('operations').whereIn('space_id', ids).whereIn('status', [...ACTIVE_OPERATION_STATUSES]).distinct('space_id');
    for (const r of rows) busy.add(r.space_id as string);
  }
  return busy;
}

/**
 * Operations still pending or running past their deadline, one page keyed by (deadline, id)
 * after `after` (cleanup sweep; index `operations(status, deadline_at)`).
 */
export async function listOverdueOperations(db: Db, now: number, after: { deadlineAt: number; id: string } | null, limit: number): Promise<Operation[]> {
  const q = db('operations').whereIn('status', [...ACTIVE_OPERATION_STATUSES]).where('deadline_at', '<', now);
  if (after) q.where('deadline_at', '>=', after.deadlineAt).andWhere((w) => w.where('deadline_at', '>', after.deadlineAt).orWhere('id', '>', after.id));
  const rows = await q.orderBy([{ column: 'deadline_at' }, { column: 'id' }]).limit(limit);
  return rows.map(fromRow);
}
