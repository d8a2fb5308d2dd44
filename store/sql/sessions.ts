/** Web sign-in sessions on SQL (`sessions`): only the sha256 of each cookie secret is stored. */
import type { Session, SignInMethod } from '../model';
import type { SessionRepository } from '../store';
import { alreadyInUse } from '../../core/errors';
import { isUniqueViolation, type Queryable } from './db';

function fromRow(r: Record<string, unknown>): Session {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    csrfToken: r.csrf_token as string,
    method: r.method as SignInMethod,
    userAgent: (r.user_agent as string) ?? '',
    ip: (r.ip as string) ?? '',
    createdAt: Number(r.created_at),
    lastUsedAt: Number(r.last_used_at),
    expiresAt: Number(r.expires_at),
    revokedAt: r.revoked_at == null ? null : Number(r.revoked_at),
  };
}

export function sqlSessions(db: Queryable): SessionRepository {
  const sessions: SessionRepository = {
    async insert(s, now) {
      try {
        await db('sessions').insert({
          id: s.id,
          user_id: s.userId,
          session_hash: s.sessionHash,
          csrf_token: s.csrfToken,
          method: s.method,
          user_agent: s.userAgent.slice(0, 255),
          ip: s.ip.slice(0, 64),
          created_at: now,
          last_used_at: now,
          expires_at: s.expiresAt,
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyInUse('a session with this hash already exists', 'sessionHash');
        throw e;
      }
      return (await sessions.get(s.id))!;
    },

    async get(id) {
      const r = await db('sessions').where({ id }).first();
      return r ? fromRow(r) : null;
    },

    async findUsableByHash(sessionHash, now) {
      const r = await db('sessions').where({ session_hash: sessionHash }).whereNull('revoked_at').where('expires_at', '>', now).first();
      return r ? fromRow(r) : null;
    },

    async listActiveOfUser(userId, now) {
      const rows = await db('sessions')
        .where({ user_id: userId })
        .whereNull('revoked_at')
        .where('expires_at', '>', now)
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      return rows.map(fromRow);
    },

    async revoke(id, now) {
      await db('sessions').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
    },

    async revokeAllOfUser(userId, now, keepId = null) {
      const q = db('sessions').where({ user_id: userId }).whereNull('revoked_at');
      if (keepId) q.whereNot({ id: keepId });
      return q.update({ revoked_at: now });
    },

    async touch(id, now, granularityMs = 60_000) {
      await db('sessions').where({ id }).where('last_used_at', '<', now - granularityMs).update({ last_used_at: now });
    },
  };
  return sessions;
}
