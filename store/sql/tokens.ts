/** API tokens on SQL (`api_tokens`): only each token's sha256 is stored. */
import type { ApiToken } from '../model';
import type { TokenRepository } from '../store';
import { alreadyInUse } from '../../core/errors';
import { isUniqueViolation, type Queryable } from './db';
import { selectFirst } from './fast-sql';

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

export function sqlTokens(db: Queryable): TokenRepository {
  const tokens: TokenRepository = {
    async insert(t, now) {
      try {
        await db('api_tokens').insert({ id: t.id, user_id: t.userId, name: t.name, token_hash: t.tokenHash, prefix: t.prefix, expires_at: t.expiresAt, created_at: now });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyInUse('a token with this hash already exists', 'tokenHash');
        throw e;
      }
      return (await tokens.get(t.id))!;
    },

    async get(id) {
      const r = await db('api_tokens').where({ id }).first();
      return r ? fromRow(r) : null;
    },

    async findUsableByHash(tokenHash, now) {
      // every API request authenticates: hand-written SQL on the fast path (fast-sql.ts)
      const r = await selectFirst(db, 'select * from `api_tokens` where `token_hash` = ? and `revoked_at` is null and (`expires_at` is null or `expires_at` > ?) limit 1', [tokenHash, now]);
      return r ? fromRow(r) : null;
    },

    async listOfUser(userId) {
      const rows = await db('api_tokens').where({ user_id: userId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      return rows.map(fromRow);
    },

    async revoke(id, now) {
      await db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
    },

    async revokeAllOfUser(userId, now) {
      return db('api_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: now });
    },

    async touch(id, now, granularityMs = 60_000) {
      await db('api_tokens')
        .where({ id })
        .where((w) => w.whereNull('last_used_at').orWhere('last_used_at', '<', now - granularityMs))
        .update({ last_used_at: now });
    },
  };
  return tokens;
}
