/** Space dormancy records (`space_dormancy`, migration 012) on SQL. */
import { chunks } from '../../core/batches';
import type { DormancyRepository, SpaceDormancy } from '../store';
import type { Queryable } from './db';
import { placeholders, selectRows } from './fast-sql';

type Row = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function fromRow(r: Row): SpaceDormancy {
  return { spaceId: r.space_id as string, exempt: Boolean(r.exempt), warnedAt: num(r.warned_at), warnedSince: num(r.warned_since), warnedDeletesAt: num(r.warned_deletes_at) };
}

export function sqlDormancy(db: Queryable): DormancyRepository {
  return {
    async getMany(spaceIds) {
      const out = new Map<string, SpaceDormancy>();
      for (const part of chunks([...new Set(spaceIds)])) {
        for (const r of await selectRows(db, `select * from \`space_dormancy\` where \`space_id\` in (${placeholders(part.length)})`, part)) out.set(r.space_id as string, fromRow(r));
      }
      return out;
    },

    async setExempt(spaceId, exempt, now) {
      await db('space_dormancy').insert({ space_id: spaceId, exempt, updated_at: now }).onConflict('space_id').merge({ exempt, updated_at: now });
    },

    async markWarned(spaceId, warning, now) {
      const row = { warned_at: warning.at, warned_since: warning.since, warned_deletes_at: warning.deletesAt, updated_at: now };
      await db('space_dormancy').insert({ space_id: spaceId, exempt: false, ...row }).onConflict('space_id').merge(row);
    },
  };
}
