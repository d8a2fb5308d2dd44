/**
 * Operations: `op:<id>` (the record as returned), and indexes derived from it: per space every
 * operation by (createdAt, id) (`space:<id>:ops`), per space the ids still pending or running
 * (`space:<id>:ops:active`), the pending or running ones with a deadline by (deadlineAt, id)
 * (`ops:overdue`), and the pending ones without a run by (createdAt, id) (`ops:not-started`).
 */
import { alreadyInUse, ErrorType } from '../../core/errors';
import { ACTIVE_OPERATION_STATUSES } from '../../core/lifecycle';
import type { NewOperation, Operation, OperationBegin, OperationOutcome } from '../model';
import type { OperationRepository } from '../store';
import { holds, reindex, scanIndex, type IndexEntry } from './indexes';
import { type Keys, LEX_MIN, LEX_MAX, idOfMember, lexBelowNumber, lexExclusive, orderedMember } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvTx } from './kv';

const isActive = (op: Operation) => ACTIVE_OPERATION_STATUSES.includes(op.status);
/** recorded, but its workflow has not begun (it may never have started) */
export const isNotStarted = (op: Operation) => op.status === 'pending' && !op.runId;

function entriesOf(keys: Keys, op: Operation): IndexEntry[] {
  const entries: IndexEntry[] = [{ kind: 'zset', key: keys.operationsOfSpace(op.spaceId), member: orderedMember(op.createdAt, op.id) }];
  if (isActive(op)) {
    entries.push({ kind: 'set', key: keys.activeOperationsOfSpace(op.spaceId), member: op.id });
    if (op.deadlineAt !== null) entries.push({ kind: 'zset', key: keys.operationDeadlines, member: orderedMember(op.deadlineAt, op.id) });
  }
  if (isNotStarted(op)) entries.push({ kind: 'zset', key: keys.operationsNotStarted, member: orderedMember(op.createdAt, op.id) });
  return entries;
}

/** A purged space's operations go with it, their steps too. */
export async function dropOperationsOfSpace(tx: KvTx, keys: Keys, spaceId: string): Promise<void> {
  const members = await tx.zrangeByLex(keys.operationsOfSpace(spaceId), { min: LEX_MIN, max: LEX_MAX });
  const ops = await readDocs<Operation>(tx, members.map((m) => keys.operation(idOfMember(m))));
  for (const op of ops) {
    if (!op) continue;
    reindex(tx, entriesOf(keys, op), []);
    tx.del(keys.operation(op.id));
    tx.del(keys.steps(op.id));
  }
  tx.del(keys.operationsOfSpace(spaceId));
  tx.del(keys.activeOperationsOfSpace(spaceId));
}

const newestFirst = (a: Operation, b: Operation) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export function redisOperations(kv: Kv, keys: Keys): OperationRepository {
  function put(tx: KvTx, before: Operation | null, after: Operation): void {
    writeDoc(tx, keys.operation(after.id), after);
    reindex(tx, before ? entriesOf(keys, before) : [], entriesOf(keys, after));
  }

  /** read-modify-write of one operation; answers whether `edit` changed it */
  function change(id: string, edit: (op: Operation) => Operation | null): Promise<boolean> {
    return kv.write(async (tx) => {
      const before = await readDoc<Operation>(tx, keys.operation(id));
      const after = before && edit(before);
      if (!before || !after) return false;
      put(tx, before, after);
      return true;
    });
  }

  async function many(ids: readonly string[]): Promise<Operation[]> {
    return (await readDocs<Operation>(kv.read, ids.map(keys.operation))).filter((op): op is Operation => op !== null);
  }

  return {
    insert: (op: NewOperation, now: number) =>
      kv.write(async (tx) => {
        if ((await tx.get(keys.operation(op.id))) !== null) throw alreadyInUse(`an operation with id '${op.id}' already exists`, 'id');
        const created: Operation = {
          id: op.id,
          spaceId: op.spaceId,
          type: op.type,
          requestedBy: op.requestedBy,
          status: 'pending',
          reason: op.reason ?? '',
          errorType: null,
          errorMessage: null,
          workflowId: op.workflowId,
          runId: null,
          createdAt: now,
          startedAt: null,
          finishedAt: null,
          deadlineAt: op.deadlineAt,
          phaseAtBegin: null,
          jobIdAtBegin: null,
        };
        put(tx, null, created);
        return created;
      }),

    get: (id) => readDoc<Operation>(kv.read, keys.operation(id)),

    getMany: async (ids) => new Map((await many([...new Set(ids)])).map((op) => [op.id, op])),

    delete: (id: string) =>
      kv.write(async (tx) => {
        const before = await readDoc<Operation>(tx, keys.operation(id));
        if (!before) return;
        // its steps stay, as on SQL: an operation whose workflow never started has none
        reindex(tx, entriesOf(keys, before), []);
        tx.del(keys.operation(id));
      }),

    listOfSpace: async (spaceId, limit = 50) => {
      if (limit <= 0) return [];
      const index = keys.operationsOfSpace(spaceId);
      return scanIndex(kv.read, index, { min: LEX_MIN, max: LEX_MAX, reverse: true, limit, pageSize: limit }, async (members) =>
        (await readDocs<Operation>(kv.read, members.map((m) => keys.operation(idOfMember(m))))).map((op, i) => (op && holds(entriesOf(keys, op), index, members[i] ?? '') ? op : null)),
      );
    },

    active: async (spaceId, exceptId) => {
      const ops = await many(await kv.read.smembers(keys.activeOperationsOfSpace(spaceId)));
      return ops.filter((op) => isActive(op) && op.spaceId === spaceId && (!exceptId || op.id !== exceptId)).sort(newestFirst)[0] ?? null;
    },

    markRunning: (id: string, runId: string, now: number, begin?: OperationBegin) =>
      kv.write(async (tx) => {
        const before = await readDoc<Operation>(tx, keys.operation(id));
        // only from pending (the first start) or running (a retry records its run again); a finished one never moves
        if (!before || !isActive(before)) return false;
        const first = before.status === 'pending';
        const atBegin = first ? { phaseAtBegin: begin?.phase ?? null, jobIdAtBegin: begin?.jobId ?? null } : {};
        put(tx, before, { ...before, status: 'running', runId, startedAt: now, ...atBegin });
        return first;
      }),

    finish: (id: string, outcome: OperationOutcome, now: number) =>
      change(id, (op) =>
        isActive(op) ? { ...op, status: outcome.status, errorType: outcome.errorType ?? null, errorMessage: outcome.errorMessage ?? null, finishedAt: now } : null,
      ),

    failNeverStarted: (id: string, message: string, now: number) =>
      change(id, (op) =>
        isNotStarted(op) ? { ...op, status: 'failed', errorType: ErrorType.OperationNotStarted, errorMessage: message, finishedAt: now } : null,
      ),

    activeSpaceIds: async (spaceIds) => {
      const ids = [...new Set(spaceIds)];
      const counts = await Promise.all(ids.map((id) => kv.read.scard(keys.activeOperationsOfSpace(id))));
      return new Set(ids.filter((_, i) => (counts[i] ?? 0) > 0));
    },

    listOverdue: async (now, after, limit) => {
      const min = after ? lexExclusive(orderedMember(after.deadlineAt, after.id)) : LEX_MIN;
      const index = keys.operationDeadlines;
      return scanIndex(kv.read, index, { min, max: lexBelowNumber(now), limit, pageSize: Math.max(1, limit) }, async (members) =>
        (await readDocs<Operation>(kv.read, members.map((m) => keys.operation(idOfMember(m))))).map((op, i) => (op && holds(entriesOf(keys, op), index, members[i] ?? '') ? op : null)),
      );
    },

    listNeverStarted: async (before, after, limit) => {
      const min = after ? lexExclusive(orderedMember(after.createdAt, after.id)) : LEX_MIN;
      const index = keys.operationsNotStarted;
      return scanIndex(kv.read, index, { min, max: lexBelowNumber(before), limit, pageSize: Math.max(1, limit) }, async (members) =>
        (await readDocs<Operation>(kv.read, members.map((m) => keys.operation(idOfMember(m))))).map((op, i) => (op && holds(entriesOf(keys, op), index, members[i] ?? '') ? op : null)),
      );
    },
  };
}
