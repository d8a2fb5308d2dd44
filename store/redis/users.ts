/** Users: `user:<id>` (with the password hash), unique `name:user:<username>`, the set `users`. */
import { alreadyInUse } from '../../core/errors';
import type { NewUser, User, UserPatch } from '../model';
import type { UserRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvTx } from './kv';
import { dropSshKeysOfUser } from './ssh-keys';
import { dropTokenOrSession } from './tokens';
import type { GroupDoc } from './groups';

export interface UserDoc {
  id: string;
  username: string;
  email: string;
  timezone: string;
  role: User['role'];
  active: boolean;
  /** PHC string; null = no password (token sign-in only) */
  passwordHash: string | null;
  createdAt: number;
  updatedAt: number;
}

export function userOf(d: UserDoc): User {
  return {
    id: d.id,
    username: d.username,
    email: d.email,
    timezone: d.timezone,
    role: d.role,
    active: d.active,
    hasPassword: d.passwordHash !== null && d.passwordHash !== '',
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

const byUsername = (a: User, b: User) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0);
const byId = (a: User, b: User) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function redisUsers(kv: Kv, keys: Keys): UserRepository {
  const entriesOf = (d: UserDoc): IndexEntry[] => [
    { kind: 'unique', key: keys.userByName(d.username), id: d.id },
    { kind: 'set', key: keys.users, member: d.id },
  ];

  async function docs(ids: readonly string[]): Promise<UserDoc[]> {
    const unique = [...new Set(ids)];
    return (await readDocs<UserDoc>(kv.read, unique.map(keys.user))).filter((d): d is UserDoc => d !== null);
  }

  async function all(): Promise<User[]> {
    return (await docs(await kv.read.smembers(keys.users))).map(userOf);
  }

  /** read-modify-write of one user; a missing user is left alone (an UPDATE of no row) */
  function change(id: string, edit: (d: UserDoc) => UserDoc): Promise<void> {
    return kv.write(async (tx) => {
      const before = await readDoc<UserDoc>(tx, keys.user(id));
      if (before) writeDoc(tx, keys.user(id), edit(before));
    });
  }

  async function getByUsername(username: string): Promise<User | null> {
    const id = await kv.read.get(keys.userByName(username));
    const d = id === null ? null : await readDoc<UserDoc>(kv.read, keys.user(id));
    return d && d.username === username ? userOf(d) : null;
  }

  return {
    insert: (u: NewUser, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.userByName(u.username)), tx.get(keys.user(u.id))]);
        if (taken !== null || existing !== null) {
          throw alreadyInUse(`a user named '${u.username}' already exists`, 'username');
        }
        const d: UserDoc = { id: u.id, username: u.username, email: u.email, timezone: u.timezone, role: u.role, active: u.active, passwordHash: null, createdAt: now, updatedAt: now };
        writeDoc(tx, keys.user(u.id), d);
        reindex(tx, [], entriesOf(d));
        return userOf(d);
      }),

    get: async (id) => {
      const d = await readDoc<UserDoc>(kv.read, keys.user(id));
      return d ? userOf(d) : null;
    },

    getByUsername,

    // SQL answers an IN list in index order: ids by id, usernames by username
    getByIds: async (ids) => (ids.length === 0 ? [] : (await docs(ids)).map(userOf).sort(byId)),

    getByUsernames: async (usernames) => {
      if (usernames.length === 0) return [];
      const found = await Promise.all([...new Set(usernames)].map(getByUsername));
      return found.filter((u): u is User => u !== null).sort(byUsername);
    },

    list: async () => (await all()).sort(byUsername),

    count: () => kv.read.scard(keys.users),

    countActiveAdmins: async () => (await all()).filter((u) => u.role === 'admin' && u.active).length,

    update: (id: string, patch: UserPatch, now: number) =>
      change(id, (d) => ({
        ...d,
        ...(patch.email !== undefined ? { email: patch.email } : {}),
        ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}),
        ...(patch.role !== undefined ? { role: patch.role } : {}),
        ...(patch.active !== undefined ? { active: patch.active } : {}),
        updatedAt: now,
      })),

    delete: (id: string) =>
      kv.write(async (tx) => {
        await dropCredentials(tx, keys, id);
        await dropSshKeysOfUser(tx, keys, id);
        await leaveGroups(tx, keys, id);
        const d = await readDoc<UserDoc>(tx, keys.user(id));
        if (!d) return;
        tx.del(keys.user(id));
        reindex(tx, entriesOf(d), []);
      }),

    getPasswordHash: async (id) => (await readDoc<UserDoc>(kv.read, keys.user(id)))?.passwordHash ?? null,

    setPasswordHash: (id: string, hash: string | null, now: number) => change(id, (d) => ({ ...d, passwordHash: hash, updatedAt: now })),

    // like SQL's `password_hash IS NOT NULL` (an empty hash counts here, not in `hasPassword`)
    withPassword: async (ids) => new Set((await docs(ids)).filter((d) => d.passwordHash !== null).map((d) => d.id)),
  };
}

/** A deleted user's tokens and sessions go with it. */
async function dropCredentials(tx: KvTx, keys: Keys, userId: string): Promise<void> {
  for (const tokenId of await tx.smembers(keys.tokensOfUser(userId))) await dropTokenOrSession(tx, keys.token(tokenId), keys.tokenByHash);
  for (const sessionId of await tx.smembers(keys.sessionsOfUser(userId))) await dropTokenOrSession(tx, keys.session(sessionId), keys.sessionByHash);
  tx.del(keys.tokensOfUser(userId));
  tx.del(keys.sessionsOfUser(userId));
}

/** Its memberships too (the groups themselves are not otherwise changed: no new updatedAt). */
async function leaveGroups(tx: KvTx, keys: Keys, userId: string): Promise<void> {
  for (const groupId of await tx.smembers(keys.groupsOfUser(userId))) {
    const g = await readDoc<GroupDoc>(tx, keys.group(groupId));
    if (g) writeDoc(tx, keys.group(groupId), { ...g, memberIds: g.memberIds.filter((m) => m !== userId) });
  }
  tx.del(keys.groupsOfUser(userId));
}
