/**
 * Web sign-in sessions. The cookie carries a random secret; only its sha256 is stored. A session
 * lives until it expires, is revoked (sign-out, an admin, a password change) or its user is
 * deactivated.
 */
import type { Db } from './db';

export const SIGN_IN_METHODS = ['password', 'token'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

export interface Session {
  id: string;
  userId: string;
  csrfToken: string;
  method: SignInMethod;
  userAgent: string;
  ip: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

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

export interface NewSession {
  id: string;
  userId: string;
  sessionHash: string;
  csrfToken: string;
  method: SignInMethod;
  userAgent: string;
  ip: string;
  expiresAt: number;
}

export async function insertSession(db: Db, s: NewSession, now: number): Promise<Session> {
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
  return (await getSession(db, s.id))!;
}

export async function getSession(db: Db, id: string): Promise<Session | null> {
  const r = await db('sessions').where({ id }).first();
  return r ? fromRow(r) : null;
}

/** The session with this hash when it is usable at `now` (not revoked, not expired). */
export async function findUsableSessionByHash(db: Db, sessionHash: string, now: number): Promise<Session | null> {
  const r = await db('sessions').where({ session_hash: sessionHash }).whereNull('revoked_at').where('expires_at', '>', now).first();
  return r ? fromRow(r) : null;
}

/** A user's sessions that still work, newest first. */
export async function listActiveSessionsOfUser(db: Db, userId: string, now: number): Promise<Session[]> {
  const rows = await db('sessions')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .where('expires_at', '>', now)
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
  return rows.map(fromRow);
}

export async function revokeSession(db: Db, id: string, now: number): Promise<void> {
  await db('sessions').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
}

/** Every session of a user, except `keepId` (the caller's own when they change their password). */
export async function revokeSessionsOfUser(db: Db, userId: string, now: number, keepId: string | null = null): Promise<number> {
  const q = db('sessions').where({ user_id: userId }).whereNull('revoked_at');
  if (keepId) q.whereNot({ id: keepId });
  return q.update({ revoked_at: now });
}

/** Written at most once per `granularityMs`, so every request is not a write. */
export async function touchSession(db: Db, id: string, now: number, granularityMs = 60_000): Promise<void> {
  await db('sessions').where({ id }).where('last_used_at', '<', now - granularityMs).update({ last_used_at: now });
}
