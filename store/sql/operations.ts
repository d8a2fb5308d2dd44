/** Operations on SQL: one lifecycle request = one workflow run. */
import { chunks } from '../../core/batches';
import { ErrorType } from '../../core/errors';
import { ACTIVE_OPERATION_STATUSES } from '../../core/lifecycle';
import type { Operation, OperationStatus, OperationType } from '../model';
import type { OperationRepository } from '../store';
import type { Queryable } from './db';
import { placeholders, selectRows } from './fast-read';

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

export function sqlOperations(db: Queryable): OperationRepository {
  const operations: OperationRepository = {
    async insert(op, now) {
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
      return (await operations.get(op.id))!;
    },

    async get(id) {
      const r = await db('operations').where({ id }).first();
      return r ? fromRow(r) : null;
    },

    async getMany(ids) {
      const out = new Map<string, Operation>();
      for (const part of chunks([...new Set(ids)])) {
        for (const r of await selectRows(db, `select * from \`operations\` where \`id\` in (${placeholders(part.length)})`, part)) out.set(r.id as string, fromRow(r));
      }
      return out;
    },

    async delete(id) {
      await db('operations').where({ id }).delete();
    },

    async listOfSpace(spaceId, limit = 50) {
      const rows = await db('operations').where({ space_id: spaceId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
      return rows.map(fromRow);
    },

    async active(spaceId, exceptId) {
      const q = db('operations').where({ space_id: spaceId }).whereIn('status', [...ACTIVE_OPERATION_STATUSES]);
      if (exceptId) q.whereNot('id', exceptId);
      const r = await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).first();
      return r ? fromRow(r) : null;
    },

    async markRunning(id, runId, now) {
      // only from pending/running: a retried activity or a replay must not move a finished operation back
      const started = await db('operations').where({ id, status: 'pending' }).update({ status: 'running', run_id: runId, started_at: now });
      if (started > 0) return true;
      await db('operations').where({ id, status: 'running' }).update({ run_id: runId, started_at: now });
      return false;
    },

    async finish(id, outcome, now) {
      const changed = await db('operations')
        .where({ id })
        .whereIn('status', [...ACTIVE_OPERATION_STATUSES])
        .update({ status: outcome.status, error_type: outcome.errorType ?? null, error_message: outcome.errorMessage ?? null, finished_at: now });
      return changed > 0;
    },

    async failNeverStarted(id, message, now) {
      const changed = await db('operations')
        .where({ id, status: 'pending' })
        .whereNull('run_id')
        .update({ status: 'failed', error_type: ErrorType.OperationNotStarted, error_message: message, finished_at: now });
      return changed > 0;
    },

    async activeSpaceIds(spaceIds) {
      const busy = new Set<string>();
      for (const part of chunks([...new Set(spaceIds)])) {
        const rows = await db('operations').whereIn('space_id', part).whereIn('status', [...ACTIVE_OPERATION_STATUSES]).distinct('space_id');
        for (const r of rows) busy.add(r.space_id as string);
      }
      return busy;
    },

    // index `operations(status, deadline_at)`
    async listOverdue(now, after, limit) {
      const q = db('operations').whereIn('status', [...ACTIVE_OPERATION_STATUSES]).where('deadline_at', '<', now);
      if (after) q.where('deadline_at', '>=', after.deadlineAt).andWhere((w) => w.where('deadline_at', '>', after.deadlineAt).orWhere('id', '>', after.id));
      const rows = await q.orderBy([{ column: 'deadline_at' }, { column: 'id' }]).limit(limit);
      return rows.map(fromRow);
    },

    // index `operations(status, created_at, id)` (migration 013)
    async listNeverStarted(before, after, limit) {
      const q = db('operations').where({ status: 'pending' }).whereNull('run_id').where('created_at', '<', before);
      if (after) q.where('created_at', '>=', after.createdAt).andWhere((w) => w.where('created_at', '>', after.createdAt).orWhere('id', '>', after.id));
      const rows = await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(limit);
      return rows.map(fromRow);
    },
  };
  return operations;
}
