/** Quota limits (`quota_limits`), space reservations (`space_units`) and the owner lock on SQL. */
import { chunks } from '../../core/batches';
import { QUOTA_KINDS, type Quota, type SpaceUnits } from '../../core/quotas';
import type { QuotaRepository } from '../store';
import type { Queryable, SqlKind } from './db';

const COLUMNS = { maxSpaces: 'max_spaces', computeUnits: 'compute_units', storageUnits: 'storage_units' } as const;

function quotaOf(r: Record<string, unknown>): Quota {
  const q: Quota = {};
  for (const k of QUOTA_KINDS) {
    const v = r[COLUMNS[k]];
    if (v !== null && v !== undefined) q[k] = Number(v);
  }
  return q;
}

export function sqlQuotas(db: Queryable, kind: SqlKind): QuotaRepository {
  return {
    async limitsOf(subject, ids) {
      const out = new Map<string, Quota>();
      for (const part of chunks([...new Set(ids)])) {
        for (const r of await db('quota_limits').where({ subject_kind: subject }).whereIn('subject_id', part)) out.set(r.subject_id as string, quotaOf(r));
      }
      return out;
    },

    async setLimits(subject, id, quota, now) {
      const row = { max_spaces: quota.maxSpaces ?? null, compute_units: quota.computeUnits ?? null, storage_units: quota.storageUnits ?? null, updated_at: now };
      if (QUOTA_KINDS.every((k) => quota[k] === undefined)) {
        await db('quota_limits').where({ subject_kind: subject, subject_id: id }).delete();
        return;
      }
      await db('quota_limits')
        .insert({ subject_kind: subject, subject_id: id, ...row })
        .onConflict(['subject_kind', 'subject_id'])
        .merge(row);
    },

    async unitsOf(spaceIds) {
      const out = new Map<string, SpaceUnits>();
      for (const part of chunks([...new Set(spaceIds)])) {
        for (const r of await db('space_units').whereIn('space_id', part)) out.set(r.space_id as string, { compute: Number(r.compute_units), storage: Number(r.storage_units) });
      }
      return out;
    },

    async setUnits(spaceId, units, now) {
      const row = { compute_units: units.compute, storage_units: units.storage, updated_at: now };
      await db('space_units').insert({ space_id: spaceId, ...row }).onConflict('space_id').merge(row);
    },

    async lockOwner(userId) {
      // MariaDB: the row lock, taken before anything else is read, so the reads after it see what
      // the previous holder committed. SQLite: a write first takes the one writer lock (WAL) for
      // the whole transaction, across processes too (busy_timeout waits for it).
      if (kind === 'mysql') await db('users').where({ id: userId }).forUpdate().first('id');
      else await db('users').where({ id: userId }).update({ updated_at: db.raw('updated_at') });
    },
  };
}
