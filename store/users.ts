/** Users repository. Usernames are unique and immutable (spaces and audit rows refer to them). */
import type { Db } from './db';
import { toBool } from './db';
import { isUniqueViolation } from './spaces';
import { ErrorType, KnotError } from '../core/errors';

export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface User {
  id: string;
  username: string;
  email: string;
  timezone: string;
  role: UserRole;
  active: boolean;
  /** whether a password is set (web sign-in); the hash itself never leaves the store module */
  hasPassword: boolean;
  createdAt: number;
  updatedAt: number;
}

function fromRow(r: Record<string, unknown>): User {
  return {
    id: r.id as string,
    username: r.username as string,
    email: (r.email as string) ?? '',
    timezone: (r.timezone as string) ?? 'UTC',
    role: r.role as UserRole,
    active: toBool(r.active),
    hasPassword: r.password_hash != null && r.password_hash !== '',
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export type NewUser = Omit<User, 'createdAt' | 'updatedAt' | 'hasPassword'>;

export async function insertUser(db: Db, u: NewUser, now: number): Promise<User> {
  try {
    await db('users').insert({
      id: u.id,
      username: u.username,
      email: u.email,
      timezone: u.timezone,
      role: u.role,
      active: u.active,
      created_at: now,
      updated_at: now,
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new KnotError(ErrorType.Conflict, `a user named '${u.username}' already exists`, {
        errors: [{ path: 'username', message: 'already in use' }],
      });
    }
    throw e;
  }
  return (await getUser(db, u.id))!;
}

export async function getUser(db: Db, id: string): Promise<User | null> {
  const r = await db('users').where({ id }).first();
  return r ? fromRow(r) : null;
}

export async function getUserByUsername(db: Db, username: string): Promise<User | null> {
  const r = await db('users').where({ username }).first();
  return r ? fromRow(r) : null;
}

export async function getUsersByIds(db: Db, ids: string[]): Promise<User[]> {
  if (ids.length === 0) return [];
  return (await db('users').whereIn('id', ids)).map(fromRow);
}

export async function getUsersByUsernames(db: Db, usernames: string[]): Promise<User[]> {
  if (usernames.length === 0) return [];
  return (await db('users').whereIn('username', usernames)).map(fromRow);
}

export async function listUsers(db: Db): Promise<User[]> {
  return (await db('users').orderBy('username')).map(fromRow);
}

export async function countUsers(db: Db): Promise<number> {
  const r = await db('users').count<{ n: number }[]>({ n: '*' });
  return Number(r[0]?.n ?? 0);
}

export async function countActiveAdmins(db: Db): Promise<number> {
  const r = await db('users').where({ role: 'admin', active: true }).count<{ n: number }[]>({ n: '*' });
  return Number(r[0]?.n ?? 0);
}

export type UserPatch = Partial<Pick<User, 'email' | 'timezone' | 'role' | 'active'>>;

export async function updateUser(db: Db, id: string, patch: UserPatch, now: number): Promise<void> {
  const row: Record<string, unknown> = { updated_at: now };
  if (patch.email !== undefined) row.email = patch.email;
  if (patch.timezone !== undefined) row.timezone = patch.timezone;
  if (patch.role !== undefined) row.role = patch.role;
  if (patch.active !== undefined) row.active = patch.active;
  await db('users').where({ id }).update(row);
}

/** Hard delete; the caller has checked that no space refers to the user. */
export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('api_tokens').where({ user_id: id }).delete();
    await trx('sessions').where({ user_id: id }).delete();
    await trx('group_members').where({ user_id: id }).delete();
    await trx('users').where({ id }).delete();
  });
}

export async function countSpacesOwnedBy(db: Db, userId: string, includeDeleted: boolean): Promise<number> {
  const q = db('spaces').where({ owner_id: userId });
  if (!includeDeleted) q.whereNull('deleted_at');
  const r = await q.count<{ n: number }[]>({ n: '*' });
  return Number(r[0]?.n ?? 0);
}


/** The stored password hash (PHC string), or null when the user has no password. */
export async function getPasswordHash(db: Db, id: string): Promise<string | null> {
  const r = await db('users').where({ id }).first('password_hash');
  return (r?.password_hash as string | null | undefined) ?? null;
}

export async function setPasswordHash(db: Db, id: string, hash: string | null, now: number): Promise<void> {
  await db('users').where({ id }).update({ password_hash: hash, updated_at: now });
}

export async function hasPasswordMany(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db('users').whereIn('id', ids).whereNotNull('password_hash').select('id');
  return new Set(rows.map((r: { id: string }) => r.id));
}
