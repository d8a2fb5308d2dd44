/** Space shares on SQL (`space_shares`): one share per (space, user) and per (space, group). */
import { chunks } from '../../core/batches';
import { alreadyInUse } from '../../core/errors';
import type { ShareRole, SpaceShare } from '../model';
import type { SpaceShareRepository } from '../store';
import { isUniqueViolation, type Queryable } from './db';
import { placeholders, selectRows } from './fast-sql';

function fromRow(r: Record<string, unknown>): SpaceShare {
  return {
    id: r.id as string,
    spaceId: r.space_id as string,
    userId: (r.user_id as string | null) ?? null,
    groupName: (r.group_name as string | null) ?? null,
    role: r.role as ShareRole,
    createdBy: r.created_by as string,
    createdAt: Number(r.created_at),
  };
}

const OLDEST_FIRST = [
  { column: 'created_at', order: 'asc' as const },
  { column: 'id', order: 'asc' as const },
];

export function sqlSpaceShares(db: Queryable): SpaceShareRepository {
  return {
    async insert(s, now) {
      try {
        await db('space_shares').insert({ id: s.id, space_id: s.spaceId, user_id: s.userId, group_name: s.groupName, role: s.role, created_by: s.createdBy, created_at: now });
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        if (await db('space_shares').where({ id: s.id }).first('id')) throw alreadyInUse('a share with this id already exists', 'id');
        throw s.userId !== null ? alreadyInUse('the space is already shared with this user', 'user') : alreadyInUse('the space is already shared with this group', 'group');
      }
      return { ...s, createdAt: now };
    },

    async get(id) {
      const r = await db('space_shares').where({ id }).first();
      return r ? fromRow(r) : null;
    },

    async listOfSpace(spaceId) {
      return (await db('space_shares').where({ space_id: spaceId }).orderBy(OLDEST_FIRST)).map(fromRow);
    },

    async listOfSpaces(spaceIds) {
      const out = new Map<string, SpaceShare[]>();
      for (const part of chunks([...new Set(spaceIds)])) {
        const rows = await selectRows(db, `select * from \`space_shares\` where \`space_id\` in (${placeholders(part.length)}) order by \`created_at\` asc, \`id\` asc`, part);
        for (const s of rows.map(fromRow)) out.set(s.spaceId, [...(out.get(s.spaceId) ?? []), s]);
      }
      return out;
    },

    async listForRecipient(userId, groupNames) {
      const groups = [...new Set(groupNames)];
      // every space list page asks (fast-sql.ts)
      const byGroup = groups.length > 0 ? ` or \`group_name\` in (${placeholders(groups.length)})` : '';
      const rows = await selectRows(db, `select * from \`space_shares\` where (\`user_id\` = ?${byGroup}) order by \`created_at\` asc, \`id\` asc`, [userId, ...groups]);
      return rows.map(fromRow);
    },

    async delete(id) {
      return (await db('space_shares').where({ id }).delete()) > 0;
    },

    async deleteOfSpace(spaceId) {
      return db('space_shares').where({ space_id: spaceId }).delete();
    },
  };
}
