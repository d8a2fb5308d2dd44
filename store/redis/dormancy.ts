/**
 * Space dormancy records on Redis: `dormancy:<spaceId>` (JSON { exempt, warnedAt,
 * warnedSince, warnedDeletesAt }), read by id only (the sweep pages through stopped spaces, not these). New
 * keys only: no schema step needed.
 */
import type { DormancyRepository, SpaceDormancy } from '../store';
import type { Keys } from './keys';
import { readDocs, writeDoc } from './kv';
import type { Kv } from './kv';

type Doc = Omit<SpaceDormancy, 'spaceId'>;

const EMPTY: Doc = { exempt: false, warnedAt: null, warnedSince: null, warnedDeletesAt: null };

export function redisDormancy(kv: Kv, keys: Keys): DormancyRepository {
  const docKey = (spaceId: string) => `${keys.prefix}dormancy:${spaceId}`;
  const edit = (spaceId: string, change: Partial<Doc>, now: number) =>
    kv.write(async (tx) => {
      const [before] = await readDocs<Doc>(tx, [docKey(spaceId)]);
      const { exempt, warnedAt, warnedSince, warnedDeletesAt } = { ...EMPTY, ...before, ...change };
      writeDoc(tx, docKey(spaceId), { exempt, warnedAt, warnedSince, warnedDeletesAt, updatedAt: now });
    });

  return {
    async getMany(spaceIds) {
      const unique = [...new Set(spaceIds)];
      const docs = await readDocs<Doc>(kv.read, unique.map(docKey));
      const out = new Map<string, SpaceDormancy>();
      unique.forEach((id, i) => {
        const d = docs[i];
        if (d) out.set(id, { spaceId: id, exempt: d.exempt === true, warnedAt: d.warnedAt ?? null, warnedSince: d.warnedSince ?? null, warnedDeletesAt: d.warnedDeletesAt ?? null });
      });
      return out;
    },

    setExempt: (spaceId, exempt, now) => edit(spaceId, { exempt }, now),

    markWarned: (spaceId, warning, now) => edit(spaceId, { warnedAt: warning.at, warnedSince: warning.since, warnedDeletesAt: warning.deletesAt }, now),
  };
}
