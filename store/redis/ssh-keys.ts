/**
 * Users' SSH public keys: `ssh-key:<id>`, the set `user:<id>:ssh-keys`, and per user the unique
 * `name:ssh-key:<userId>:<fingerprint>` (a key is on a user at most once).
 */
import { alreadyInUse } from '../../core/errors';
import type { NewSshKey, SshKey } from '../model';
import type { SshKeyRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvReader, type KvTx } from './kv';

/** oldest first, as SQL's `ORDER BY created_at, id` */
function oldestFirst(a: SshKey, b: SshKey): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function entriesOf(keys: Keys, k: SshKey): IndexEntry[] {
  return [
    { kind: 'unique', key: keys.sshKeyByFingerprint(k.userId, k.fingerprint), id: k.id },
    { kind: 'set', key: keys.sshKeysOfUser(k.userId), member: k.id },
  ];
}

async function keysOfUser(r: KvReader, keys: Keys, userId: string): Promise<SshKey[]> {
  const ids = await r.smembers(keys.sshKeysOfUser(userId));
  const docs = await readDocs<SshKey>(r, ids.map(keys.sshKey));
  return docs.filter((d): d is SshKey => d !== null && d.userId === userId).sort(oldestFirst);
}

/** Every key of a user, inside the caller's transaction (user deletion). */
export async function dropSshKeysOfUser(tx: KvTx, keys: Keys, userId: string): Promise<void> {
  for (const k of await keysOfUser(tx, keys, userId)) {
    tx.del(keys.sshKey(k.id));
    reindex(tx, entriesOf(keys, k), []);
  }
  tx.del(keys.sshKeysOfUser(userId));
}

export function redisSshKeys(kv: Kv, keys: Keys): SshKeyRepository {
  return {
    insert: (k: NewSshKey, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.sshKeyByFingerprint(k.userId, k.fingerprint)), tx.get(keys.sshKey(k.id))]);
        if (taken !== null) throw alreadyInUse(`this key (${k.fingerprint}) is already on the account`, 'publicKey');
        if (existing !== null) throw alreadyInUse('an SSH key with this id already exists', 'id');
        const d: SshKey = { id: k.id, userId: k.userId, name: k.name, type: k.type, publicKey: k.publicKey, fingerprint: k.fingerprint, createdAt: now };
        writeDoc(tx, keys.sshKey(k.id), d);
        reindex(tx, [], entriesOf(keys, d));
        return d;
      }),

    listOfUser: (userId) => keysOfUser(kv.read, keys, userId),

    listOfUsers: async (userIds) => {
      const out = new Map<string, SshKey[]>();
      for (const userId of new Set(userIds)) {
        const list = await keysOfUser(kv.read, keys, userId);
        if (list.length > 0) out.set(userId, list);
      }
      return out;
    },

    delete: (userId: string, id: string) =>
      kv.write(async (tx) => {
        const d = await readDoc<SshKey>(tx, keys.sshKey(id));
        if (!d || d.userId !== userId) return false;
        tx.del(keys.sshKey(id));
        reindex(tx, entriesOf(keys, d), []);
        return true;
      }),
  };
}
