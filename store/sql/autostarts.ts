/** Space autostarts (`space_autostart`, migration 011) on SQL. */
import { chunks } from '../../core/batches';
import type { Autostart } from '../../core/autostart';
import type { AutostartRepository, SpaceAutostart } from '../store';
import type { Queryable } from './db';
import { placeholders, selectRows } from './fast-sql';

type Row = Record<string, unknown>;

function fromRow(r: Row): SpaceAutostart {
  return { spaceId: r.space_id as string, autostart: JSON.parse(r.autostart as string) as Autostart, nextAt: r.next_at === null || r.next_at === undefined ? null : Number(r.next_at) };
}

export function sqlAutostarts(db: Queryable): AutostartRepository {
  return {
    async get(spaceId) {
      const r = await db('space_autostart').where({ space_id: spaceId }).first();
      return r ? fromRow(r as Row) : null;
    },

    async getMany(spaceIds) {
      const out = new Map<string, SpaceAutostart>();
      for (const part of chunks([...new Set(spaceIds)])) {
        for (const r of await selectRows(db, `select * from \`space_autostart\` where \`space_id\` in (${placeholders(part.length)})`, part)) out.set(r.space_id as string, fromRow(r));
      }
      return out;
    },

    async set(spaceId, autostart, nextAt, now) {
      if (!autostart) {
        await db('space_autostart').where({ space_id: spaceId }).delete();
        return;
      }
      const row = { autostart: JSON.stringify(autostart), next_at: nextAt, updated_at: now };
      await db('space_autostart').insert({ space_id: spaceId, ...row }).onConflict('space_id').merge(row);
    },

    async listDue(now, limit) {
      const rows = await db('space_autostart').whereNotNull('next_at').where('next_at', '<=', now).orderBy([{ column: 'next_at' }, { column: 'space_id' }]).limit(limit);
      return rows.map((r: Row) => fromRow(r));
    },

    async advance(spaceId, expected, next, now) {
      const n = await db('space_autostart').where({ space_id: spaceId, next_at: expected }).update({ next_at: next, updated_at: now });
      return Number(n) > 0;
    },
  };
}
