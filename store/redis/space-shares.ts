/**
 * Space shares: `share:<id>`, the sets `space:<id>:shares`, `shares:user:<userId>` and
 * `shares:group:<name>`, and per space the unique `name:share:<spaceId>:<user:id|group:name>`
 * (a space is shared with a recipient at most once). New keys only: no schema step needed.
 */
import { alreadyInUse } from '../../core/errors';
import type { NewSpaceShare, SpaceShare } from '../model';
import type { SpaceShareRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvReader, type KvTx } from './kv';

/** oldest first, as SQL's `ORDER BY created_at, id` */
function oldestFirst(a: SpaceShare, b: SpaceShare): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const recipientOf = (s: Pick<SpaceShare, 'userId' | 'groupName'>) => (s.userId !== null ? `user:${s.userId}` : `group:${s.groupName ?? ''}`);

function entriesOf(keys: Keys, s: SpaceShare): IndexEntry[] {
  return [
    { kind: 'unique', key: keys.shareByRecipient(s.spaceId, recipientOf(s)), id: s.id },
    { kind: 'set', key: keys.sharesOfSpace(s.spaceId), member: s.id },
    s.userId !== null ? { kind: 'set', key: keys.sharesToUser(s.userId), member: s.id } : { kind: 'set', key: keys.sharesToGroup(s.groupName ?? ''), member: s.id },
  ];
}

async function sharesAt(r: KvReader, keys: Keys, ids: readonly string[]): Promise<SpaceShare[]> {
  const docs = await readDocs<SpaceShare>(r, [...new Set(ids)].map(keys.spaceShare));
  return docs.filter((d): d is SpaceShare => d !== null).sort(oldestFirst);
}

async function sharesOfSpace(r: KvReader, keys: Keys, spaceId: string): Promise<SpaceShare[]> {
  return (await sharesAt(r, keys, await r.smembers(keys.sharesOfSpace(spaceId)))).filter((s) => s.spaceId === spaceId);
}

/** Every share of a space, inside the caller's transaction; how many. */
export async function dropSharesOfSpace(tx: KvTx, keys: Keys, spaceId: string): Promise<number> {
  const shares = await sharesOfSpace(tx, keys, spaceId);
  for (const s of shares) {
    tx.del(keys.spaceShare(s.id));
    reindex(tx, entriesOf(keys, s), []);
  }
  tx.del(keys.sharesOfSpace(spaceId));
  return shares.length;
}

export function redisSpaceShares(kv: Kv, keys: Keys): SpaceShareRepository {
  return {
    insert: (s: NewSpaceShare, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.shareByRecipient(s.spaceId, recipientOf(s))), tx.get(keys.spaceShare(s.id))]);
        if (existing !== null) throw alreadyInUse('a share with this id already exists', 'id');
        if (taken !== null) throw s.userId !== null ? alreadyInUse('the space is already shared with this user', 'user') : alreadyInUse('the space is already shared with this group', 'group');
        const d: SpaceShare = { id: s.id, spaceId: s.spaceId, userId: s.userId, groupName: s.groupName, role: s.role, createdBy: s.createdBy, createdAt: now };
        writeDoc(tx, keys.spaceShare(s.id), d);
        reindex(tx, [], entriesOf(keys, d));
        return d;
      }),

    get: (id) => readDoc<SpaceShare>(kv.read, keys.spaceShare(id)),

    listOfSpace: (spaceId) => sharesOfSpace(kv.read, keys, spaceId),

    listOfSpaces: async (spaceIds) => {
      const out = new Map<string, SpaceShare[]>();
      for (const spaceId of new Set(spaceIds)) {
        const list = await sharesOfSpace(kv.read, keys, spaceId);
        if (list.length > 0) out.set(spaceId, list);
      }
      return out;
    },

    listForRecipient: async (userId, groupNames) => {
      const sets = [keys.sharesToUser(userId), ...[...new Set(groupNames)].map(keys.sharesToGroup)];
      const ids = (await Promise.all(sets.map((k) => kv.read.smembers(k)))).flat();
      const groups = new Set(groupNames);
      // a document no longer matching its set (changed between the reads) is not this recipient's
      return (await sharesAt(kv.read, keys, ids)).filter((s) => s.userId === userId || (s.groupName !== null && groups.has(s.groupName)));
    },

    delete: (id: string) =>
      kv.write(async (tx) => {
        const d = await readDoc<SpaceShare>(tx, keys.spaceShare(id));
        if (!d) return false;
        tx.del(keys.spaceShare(id));
        reindex(tx, entriesOf(keys, d), []);
        return true;
      }),

    deleteOfSpace: (spaceId: string) => kv.write((tx) => dropSharesOfSpace(tx, keys, spaceId)),
  };
}
