/** Operations on SQL: one lifecycle request = one workflow run. */
import { chunks } from '../../core/batches';
import { ErrorType } from '../../core/errors';
import { ACTIVE_OPERATION_STATUSES } from '../../core/lifecycle';
import type { Operation, OperationStatus, OperationType, SpacePhase } from '../model';
import type { OperationRepository } from '../store';
import type { Queryable } from './db';
import { placeholders, run, selectFirst, selectRows } from './fast-sql';

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
    phaseAtBegin: (r.phase_at_begin as SpacePhase | null) ?? null,
    jobIdAtBegin: (r.job_id_at_begin as string | null) ?? null,
  };
}

export function sqlOperations(db: Queryable): OperationRepository {
  const operations: OperationRepository = {
    async insert(op, now) {
      // `?? null`: an absent value is NULL, as knex's insert wrote it
      await run(
        db,
        'insert into `operations` (`created_at`, `deadline_at`, `id`, `reason`, `requested_by`, `space_id`, `status`, `type`, `workflow_id`) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [now, op.deadlineAt ?? null, op.id, op.reason ?? '', op.requestedBy, op.spaceId, 'pending', op.type, op.workflowId],
      );
      return (await operations.get(op.id))!;
    },

    async get(id) {
      const r = await selectFirst(db, 'select * from `operations` where `id` = ? limit 1', [id]);
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
      const except = exceptId ? ' and not `id` = ?' : '';
      const sql = `select * from \`operations\` where \`space_id\` = ? and \`status\` in (${placeholders(ACTIVE_OPERATION_STATUSES.length)})${except} order by \`created_at\` desc, \`id\` desc limit 1`;
      const r = await selectFirst(db, sql, exceptId ? [spaceId, ...ACTIVE_OPERATION_STATUSES, exceptId] : [spaceId, ...ACTIVE_OPERATION_STATUSES]);
      return r ? fromRow(r) : null;
    },

    async markRunning(id, runId, now, begin) {
      // only from pending/running: a retried activity or a replay must not move a finished operation back
      const started = await run(db, 'update `operations` set `status` = ?, `run_id` = ?, `started_at` = ?, `phase_at_begin` = ?, `job_id_at_begin` = ? where `id` = ? and `status` = ?', [
        'running',
        runId,
        now,
        begin?.phase ?? null,
        begin?.jobId ?? null,
        id,
        'pending',
      ]);
      if (started.changes > 0) return true;
      await run(db, 'update `operations` set `run_id` = ?, `started_at` = ? where `id` = ? and `status` = ?', [runId, now, id, 'running']);
      return false;
    },

    async finish(id, outcome, now) {
      const sql = `update \`operations\` set \`status\` = ?, \`error_type\` = ?, \`error_message\` = ?, \`finished_at\` = ? where \`id\` = ? and \`status\` in (${placeholders(ACTIVE_OPERATION_STATUSES.length)})`;
      const changed = await run(db, sql, [outcome.status, outcome.errorType ?? null, outcome.errorMessage ?? null, now, id, ...ACTIVE_OPERATION_STATUSES]);
      return changed.changes > 0;
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
