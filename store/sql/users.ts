/** Users on SQL. Usernames are unique and immutable (spaces and audit rows refer to them). */
import { alreadyInUse } from '../../core/errors';
import type { User, UserRole } from '../model';
import type { UserRepository } from '../store';
import { isUniqueViolation, toBool, type Queryable } from './db';
import { placeholders, selectFirst, selectRows } from './fast-sql';

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

export function sqlUsers(db: Queryable): UserRepository {
  const users: UserRepository = {
    async insert(u, now) {
      try {
        await db('users').insert({ id: u.id, username: u.username, email: u.email, timezone: u.timezone, role: u.role, active: u.active, created_at: now, updated_at: now });
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw alreadyInUse(`a user named '${u.username}' already exists`, 'username');
        }
        throw e;
      }
      return (await users.get(u.id))!;
    },

    async get(id) {
      const r = await selectFirst(db, 'select * from `users` where `id` = ? limit 1', [id]);
      return r ? fromRow(r) : null;
    },

    async getByUsername(username) {
      const r = await db('users').where({ username }).first();
      return r ? fromRow(r) : null;
    },

    async getByIds(ids) {
      if (ids.length === 0) return [];
      return (await selectRows(db, `select * from \`users\` where \`id\` in (${placeholders(ids.length)})`, [...ids])).map(fromRow);
    },

    async getByUsernames(usernames) {
      if (usernames.length === 0) return [];
      return (await db('users').whereIn('username', [...usernames])).map(fromRow);
    },

    async list() {
      return (await db('users').orderBy('username')).map(fromRow);
    },

    async count() {
      const r = await db('users').count<{ n: number }[]>({ n: '*' });
      return Number(r[0]?.n ?? 0);
    },

    async countActiveAdmins() {
      const r = await db('users').where({ role: 'admin', active: true }).count<{ n: number }[]>({ n: '*' });
      return Number(r[0]?.n ?? 0);
    },

    async update(id, patch, now) {
      const row: Record<string, unknown> = { updated_at: now };
      if (patch.email !== undefined) row.email = patch.email;
      if (patch.timezone !== undefined) row.timezone = patch.timezone;
      if (patch.role !== undefined) row.role = patch.role;
      if (patch.active !== undefined) row.active = patch.active;
      await db('users').where({ id }).update(row);
    },

    async delete(id) {
      await db.transaction(async (trx) => {
        await trx('api_tokens').where({ user_id: id }).delete();
        await trx('sessions').where({ user_id: id }).delete();
        await trx('ssh_keys').where({ user_id: id }).delete();
        await trx('group_members').where({ user_id: id }).delete();
        await trx('users').where({ id }).delete();
      });
    },

    async getPasswordHash(id) {
      const r = await db('users').where({ id }).first('password_hash');
      return (r?.password_hash as string | null | undefined) ?? null;
    },

    async setPasswordHash(id, hash, now) {
      await db('users').where({ id }).update({ password_hash: hash, updated_at: now });
    },

    async withPassword(ids) {
      if (ids.length === 0) return new Set();
      const rows = await db('users').whereIn('id', [...ids]).whereNotNull('password_hash').select('id');
      return new Set(rows.map((r: { id: string }) => r.id));
    },
  };
  return users;
}
