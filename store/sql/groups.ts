/** Groups and their members on SQL (`groups`, `group_members`). */
import { alreadyInUse } from '../../core/errors';
import type { Group } from '../model';
import type { GroupRepository } from '../store';
import { isUniqueViolation, type Queryable } from './db';
import { selectRows } from './fast-sql';

type Row = Record<string, unknown>;

export function sqlGroups(db: Queryable): GroupRepository {
  async function withMembers(rows: Row[]): Promise<Group[]> {
    const ids = rows.map((r) => r.id as string);
    const members = ids.length ? await db('group_members').whereIn('group_id', ids).orderBy('user_id') : [];
    const byGroup = new Map<string, string[]>();
    for (const m of members) {
      const list = byGroup.get(m.group_id as string) ?? [];
      list.push(m.user_id as string);
      byGroup.set(m.group_id as string, list);
    }
    return rows.map((r) => ({
      id: r.id as string,
      name: r.name as string,
      description: (r.description as string) ?? '',
      memberIds: byGroup.get(r.id as string) ?? [],
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  const groups: GroupRepository = {
    async list() {
      return withMembers(await db('groups').orderBy('name'));
    },

    async get(id) {
      const r = await db('groups').where({ id }).first();
      return r ? ((await withMembers([r]))[0] ?? null) : null;
    },

    async getByName(name) {
      const r = await db('groups').where({ name }).first();
      return r ? ((await withMembers([r]))[0] ?? null) : null;
    },

    async getByNames(names) {
      if (names.length === 0) return [];
      return withMembers(await db('groups').whereIn('name', [...names]));
    },

    async namesOfUser(userId) {
      const rows = await selectRows(db, 'select `groups`.`name` from `group_members` inner join `groups` on `groups`.`id` = `group_members`.`group_id` where `group_members`.`user_id` = ?', [userId]);
      return rows.map((r: Row) => r.name as string).sort();
    },

    async insert(g, now) {
      try {
        await db.transaction(async (trx) => {
          await trx('groups').insert({ id: g.id, name: g.name, description: g.description, created_at: now, updated_at: now });
          if (g.memberIds.length) await trx('group_members').insert([...new Set(g.memberIds)].map((u) => ({ group_id: g.id, user_id: u })));
        });
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw alreadyInUse(`a group named '${g.name}' already exists`, 'name');
        }
        throw e;
      }
      return (await groups.get(g.id))!;
    },

    async update(id, patch, now) {
      await db.transaction(async (trx) => {
        const row: Row = { updated_at: now };
        if (patch.description !== undefined) row.description = patch.description;
        await trx('groups').where({ id }).update(row);
        if (patch.memberIds !== undefined) {
          await trx('group_members').where({ group_id: id }).delete();
          if (patch.memberIds.length) await trx('group_members').insert([...new Set(patch.memberIds)].map((u) => ({ group_id: id, user_id: u })));
        }
      });
    },

    async delete(id) {
      await db.transaction(async (trx) => {
        await trx('group_members').where({ group_id: id }).delete();
        await trx('groups').where({ id }).delete();
      });
    },
  };
  return groups;
}
