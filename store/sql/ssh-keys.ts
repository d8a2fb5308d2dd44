/** Users' SSH public keys on SQL (`ssh_keys`): a fingerprint is unique per user. */
import { chunks } from '../../core/batches';
import { alreadyInUse } from '../../core/errors';
import type { SshKey } from '../model';
import type { SshKeyRepository } from '../store';
import { isUniqueViolation, type Queryable } from './db';

function fromRow(r: Record<string, unknown>): SshKey {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    name: r.name as string,
    type: r.type as string,
    publicKey: r.public_key as string,
    fingerprint: r.fingerprint as string,
    createdAt: Number(r.created_at),
  };
}

const OLDEST_FIRST = [
  { column: 'created_at', order: 'asc' as const },
  { column: 'id', order: 'asc' as const },
];

export function sqlSshKeys(db: Queryable): SshKeyRepository {
  return {
    async insert(k, now) {
      try {
        await db('ssh_keys').insert({ id: k.id, user_id: k.userId, name: k.name, type: k.type, public_key: k.publicKey, fingerprint: k.fingerprint, created_at: now });
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // two unique indexes: say which one (as Redis does)
        const taken = await db('ssh_keys').where({ user_id: k.userId, fingerprint: k.fingerprint }).first('id');
        if (taken) throw alreadyInUse(`this key (${k.fingerprint}) is already on the account`, 'publicKey');
        throw alreadyInUse('an SSH key with this id already exists', 'id');
      }
      return { ...k, createdAt: now };
    },

    async listOfUser(userId) {
      return (await db('ssh_keys').where({ user_id: userId }).orderBy(OLDEST_FIRST)).map(fromRow);
    },

    async listOfUsers(userIds) {
      const out = new Map<string, SshKey[]>();
      for (const part of chunks([...new Set(userIds)])) {
        const rows = await db('ssh_keys').whereIn('user_id', part).orderBy(OLDEST_FIRST);
        for (const k of rows.map(fromRow)) out.set(k.userId, [...(out.get(k.userId) ?? []), k]);
      }
      return out;
    },

    async delete(userId, id) {
      return (await db('ssh_keys').where({ id, user_id: userId }).delete()) > 0;
    },
  };
}
