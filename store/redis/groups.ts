/**
 * Groups: `group:<id>` with its sorted member ids, unique `name:group:<name>`, the set `groups`,
 * and per user the set of their groups (`user:<id>:groups`) for `namesOfUser` and user deletion.
 */
import { alreadyInUse } from '../../core/errors';
import type { Group, GroupPatch, NewGroup } from '../model';
import type { GroupRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv } from './kv';

/** The record as returned: members sorted, as SQL's `ORDER BY user_id` gives them. */
export type GroupDoc = Group;

const byName = (a: Group, b: Group) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const sortedUnique = (ids: readonly string[]) => [...new Set(ids)].sort();

export function redisGroups(kv: Kv, keys: Keys): GroupRepository {
  const entriesOf = (g: GroupDoc): IndexEntry[] => [
    { kind: 'unique', key: keys.groupByName(g.name), id: g.id },
    { kind: 'set', key: keys.groups, member: g.id },
    ...g.memberIds.map((userId): IndexEntry => ({ kind: 'set', key: keys.groupsOfUser(userId), member: g.id })),
  ];

  async function many(ids: readonly string[]): Promise<Group[]> {
    return (await readDocs<GroupDoc>(kv.read, [...new Set(ids)].map(keys.group))).filter((g): g is Group => g !== null);
  }

  async function getByName(name: string): Promise<Group | null> {
    const id = await kv.read.get(keys.groupByName(name));
    const g = id === null ? null : await readDoc<GroupDoc>(kv.read, keys.group(id));
    return g && g.name === name ? g : null;
  }

  return {
    list: async () => (await many(await kv.read.smembers(keys.groups))).sort(byName),

    get: (id) => readDoc<GroupDoc>(kv.read, keys.group(id)),

    getByName,

    getByNames: async (names) => {
      if (names.length === 0) return [];
      const found = await Promise.all([...new Set(names)].map(getByName));
      return found.filter((g): g is Group => g !== null).sort(byName);
    },

    namesOfUser: async (userId) => (await many(await kv.read.smembers(keys.groupsOfUser(userId)))).map((g) => g.name).sort(),

    insert: (g: NewGroup, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.groupByName(g.name)), tx.get(keys.group(g.id))]);
        if (taken !== null || existing !== null) {
          throw alreadyInUse(`a group named '${g.name}' already exists`, 'name');
        }
        const doc: GroupDoc = { id: g.id, name: g.name, description: g.description, memberIds: sortedUnique(g.memberIds), createdAt: now, updatedAt: now };
        writeDoc(tx, keys.group(g.id), doc);
        reindex(tx, [], entriesOf(doc));
        return doc;
      }),

    update: (id: string, patch: GroupPatch, now: number) =>
      kv.write(async (tx) => {
        const before = await readDoc<GroupDoc>(tx, keys.group(id));
        if (!before) return;
        const after: GroupDoc = {
          ...before,
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.memberIds !== undefined ? { memberIds: sortedUnique(patch.memberIds) } : {}),
          updatedAt: now,
        };
        writeDoc(tx, keys.group(id), after);
        reindex(tx, entriesOf(before), entriesOf(after));
      }),

    delete: (id: string) =>
      kv.write(async (tx) => {
        const before = await readDoc<GroupDoc>(tx, keys.group(id));
        if (!before) return;
        tx.del(keys.group(id));
        reindex(tx, entriesOf(before), []);
      }),
  };
}
