/**
 * API tokens. Only the sha256 of a token is stored (plus a short prefix so a user can tell tokens
 * apart); the token itself is shown once, when it is created.
 */
import type { Db } from './db';

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  createdAt: number;
}

function fromRow(r: Record<string, unknown>): ApiToken {
  const n = (v: unknown) => (v == null ? null : Number(v));
  return {
    id: r.id as string,
    userId: r.user_id as string,
    name: (r.name as string) ?? '',
    prefix: (r.prefix as string) ?? '',
    expiresAt: n(r.expires_at),
    revokedAt: n(r.revoked_at),
    lastUsedAt: n(r.last_used_at),
    createdAt: Number(r.created_at),
  };
}

export interface NewToken {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  prefix: string;
  expiresAt: number | null;
}

export async function insertToken(db: Db, t: NewToken, now: number): Promise<ApiToken> {
  await db('api_tokens').insert({
    id: t.id,
    user_id: t.userId,
    name: t.name,
    token_hash: t.tokenHash,
    prefix: t.prefix,
    expires_at: t.expiresAt,
    created_at: now,
  });
  return (await getToken(db, t.id))!;
}

export async function getToken(db: Db, id: string): Promise<ApiToken | null> {
  const r = await db('api_tokens').where({ id }).first();
  return r ? fromRow(r) : null;
}

/** The token with this hash when it is usable at `now` (not revoked, not expired). */
export async function findUsableTokenByHash(db: Db, tokenHash: string, now: number): Promise<ApiToken | null> {
  const r = await db('api_tokens')
    .where({ token_hash: tokenHash })
    .whereNull('revoked_at')
    .where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', now))
    .first();
  return r ? fromRow(r) : null;
}

/** Newest first; revoked tokens included so a user can see what was revoked and when. */
export async function listTokensOfUser(db: Db, userId: string): Promise<ApiToken[]> {
  const rows = await db('api_tokens').where({ user_id: userId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
  return rows.map(fromRow);
}

export async function revokeToken(db: Db, id: string, now: number): Promise<void> {
  await db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
}

export async function revokeTokensOfUser(db: Db, userId: string, now: number): Promise<number> {
  return db('api_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: now });
}

/** Written at most once per `granularityMs` per token, so every request is not a write. */
export async function touchToken(db: Db, id: string, now: number, granularityMs = 60_000): Promise<void> {
  await db('api_tokens')
    .where({ id })
    .where((w) => w.whereNull('last_used_at').orWhere('last_used_at', '<', now - granularityMs))
    .update({ last_used_at: now });
}
