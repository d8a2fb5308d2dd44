/**
 * Quotas on Redis: `quota:<user|group>:<id>` (the limits, JSON), `space-units:<spaceId>` (what a
 * space last reserved, JSON) and `quota-lock:<userId>`, a counter every quota decision for that
 * owner reads and rewrites inside its transaction: both WATCH it, so of two concurrent decisions
 * one EXEC fails and that work runs again on what the other committed. New keys only: no schema
 * step needed.
 */
import { QUOTA_KINDS, type Quota, type SpaceUnits } from '../../core/quotas';
import type { QuotaRepository, QuotaSubject } from '../store';
import type { Keys } from './keys';
import { readDocs, writeDoc, type Kv } from './kv';

export function redisQuotas(kv: Kv, keys: Keys): QuotaRepository {
  const limitKey = (subject: QuotaSubject, id: string) => `${keys.prefix}quota:${subject}:${id}`;
  const unitsKey = (spaceId: string) => `${keys.prefix}space-units:${spaceId}`;
  const lockKey = (userId: string) => `${keys.prefix}quota-lock:${userId}`;

  return {
    async limitsOf(subject, ids) {
      const unique = [...new Set(ids)];
      const docs = await readDocs<Quota & { updatedAt?: number }>(kv.read, unique.map((id) => limitKey(subject, id)));
      const out = new Map<string, Quota>();
      unique.forEach((id, i) => {
        const d = docs[i];
        if (!d) return;
        const q: Quota = {};
        for (const k of QUOTA_KINDS) if (typeof d[k] === 'number') q[k] = d[k];
        out.set(id, q);
      });
      return out;
    },

    setLimits: (subject, id, quota, now) =>
      kv.write(async (tx) => {
        const q: Quota = {};
        for (const k of QUOTA_KINDS) if (quota[k] !== undefined) q[k] = quota[k];
        if (Object.keys(q).length === 0) tx.del(limitKey(subject, id));
        else writeDoc(tx, limitKey(subject, id), { ...q, updatedAt: now });
      }),

    async unitsOf(spaceIds) {
      const unique = [...new Set(spaceIds)];
      const docs = await readDocs<SpaceUnits>(kv.read, unique.map(unitsKey));
      const out = new Map<string, SpaceUnits>();
      unique.forEach((id, i) => {
        const d = docs[i];
        if (d) out.set(id, { compute: d.compute, storage: d.storage });
      });
      return out;
    },

    setUnits: (spaceId, units, now) =>
      kv.write(async (tx) => {
        writeDoc(tx, unitsKey(spaceId), { compute: units.compute, storage: units.storage, updatedAt: now });
      }),

    lockOwner: (userId) =>
      kv.write(async (tx) => {
        const n = Number((await tx.get(lockKey(userId))) ?? 0);
        tx.set(lockKey(userId), String(n + 1));
      }),
  };
}
