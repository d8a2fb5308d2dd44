/** Operations: one lifecycle request = one workflow run. */
import type { Db } from './db';

export const OPERATION_TYPES = ['create', 'start', 'stop', 'update', 'restart', 'delete'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];
export const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

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

/** Operations that should have finished by now (cleanup sweep). */
export async function stuckOperations(db: Db, now: number, limit: number): Promise<Operation[]> {
  const rows = await db('operations').whereIn('status', ['pending', 'running']).where('deadline_at', '<', now).orderBy('deadline_at').limit(limit);
  return rows.map(fromRow);
}
