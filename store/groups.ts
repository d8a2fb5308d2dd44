/**
 * Groups and their members. Group names are immutable: templates refer to groups by name, so a
 * rename would silently change who may use a template.
 */
import type { Db } from './db';
import { isUniqueViolation } from './spaces';
import { ErrorType, KnotError } from '../core/errors';

export interface Group {
  id: string;
  name: string;
  description: string;
  /** user ids */
  memberIds: string[];
  createdAt: number;
  updatedAt: number;
}

type Row = Record<string, unknown>;

async function withMembers(db: Db, rows: Row[]): Promise<Group[]> {
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

export async function listGroups(db: Db): Promise<Group[]> {
  return withMembers(db, await db('groups').orderBy('name'));
}

export async function getGroup(db: Db, id: string): Promise<Group | null> {
  const r = await db('groups').where({ id }).first();
  return r ? ((await withMembers(db, [r]))[0] ?? null) : null;
}

export async function getGroupByName(db: Db, name: string): Promise<Group | null> {
  const r = await db('groups').where({ name }).first();
  return r ? ((await withMembers(db, [r]))[0] ?? null) : null;
}

export async function getGroupsByNames(db: Db, names: string[]): Promise<Group[]> {
  if (names.length === 0) return [];
  return withMembers(db, await db('groups').whereIn('name', names));
}

/** Names of the groups a user belongs to. */
export async function groupNamesOfUser(db: Db, userId: string): Promise<string[]> {
  const rows = await db('group_members').join('groups', 'groups.id', 'group_members.group_id').where('group_members.user_id', userId).select('groups.name');
  return rows.map((r: Row) => r.name as string).sort();
}

export async function insertGroup(db: Db, g: { id: string; name: string; description: string; memberIds: string[] }, now: number): Promise<Group> {
  try {
    await db.transaction(async (trx) => {
      await trx('groups').insert({ id: g.id, name: g.name, description: g.description, created_at: now, updated_at: now });
      if (g.memberIds.length) await trx('group_members').insert(g.memberIds.map((u) => ({ group_id: g.id, user_id: u })));
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new KnotError(ErrorType.Conflict, `a group named '${g.name}' already exists`, { errors: [{ path: 'name', message: 'already in use' }] });
    }
    throw e;
  }
  return (await getGroup(db, g.id))!;
}

export async function updateGroup(db: Db, id: string, patch: { description?: string; memberIds?: string[] }, now: number): Promise<void> {
  await db.transaction(async (trx) => {
    const row: Row = { updated_at: now };
    if (patch.description !== undefined) row.description = patch.description;
    await trx('groups').where({ id }).update(row);
    if (patch.memberIds !== undefined) {
      await trx('group_members').where({ group_id: id }).delete();
      if (patch.memberIds.length) await trx('group_members').insert(patch.memberIds.map((u) => ({ group_id: id, user_id: u })));
    }
  });
}

export async function deleteGroup(db: Db, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('group_members').where({ group_id: id }).delete();
    await trx('groups').where({ id }).delete();
  });
}
