/**
 * API tokens: `token:<id>` (with the token's sha256), unique `hash:token:<sha>`, and per user the
 * set `user:<id>:tokens`.
 */
import { alreadyInUse, KnotError } from '../../core/errors';
import type { ApiToken, NewToken } from '../model';
import type { TokenRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvTx } from './kv';

interface TokenDoc extends ApiToken {
  tokenHash: string;
}

function tokenOf(d: TokenDoc): ApiToken {
  return { id: d.id, userId: d.userId, name: d.name, prefix: d.prefix, expiresAt: d.expiresAt, revokedAt: d.revokedAt, lastUsedAt: d.lastUsedAt, createdAt: d.createdAt };
}

/** newest first, as SQL's `ORDER BY created_at DESC, id DESC` */
export function newestFirst(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A credential whose hash (or id) another record holds: SQL's unique violation, as a conflict naming the field. */
export function credentialTaken(what: 'token' | 'session', field: 'tokenHash' | 'sessionHash' | 'id'): KnotError {
  const message = field === 'id' ? `a ${what} with this id already exists` : `a ${what} with this hash already exists`;
  return alreadyInUse(message, field);
}

/** Deletes a token or session document and frees its hash (user deletion). */
export async function dropTokenOrSession(tx: KvTx, docKey: string, hashKeyOf: (sha: string) => string): Promise<void> {
  const d = await readDoc<{ id: string; tokenHash?: string; sessionHash?: string }>(tx, docKey);
  if (!d) return;
  tx.del(docKey);
  const sha = d.tokenHash ?? d.sessionHash;
  if (sha !== undefined && (await tx.get(hashKeyOf(sha))) === d.id) tx.del(hashKeyOf(sha));
}

export function redisTokens(kv: Kv, keys: Keys): TokenRepository {
  const entriesOf = (d: TokenDoc): IndexEntry[] => [
    { kind: 'unique', key: keys.tokenByHash(d.tokenHash), id: d.id },
    { kind: 'set', key: keys.tokensOfUser(d.userId), member: d.id },
  ];

  /** read-modify-write of one token; `edit` answers null to leave it (an UPDATE matching no row) */
  function change(id: string, edit: (d: TokenDoc) => TokenDoc | null): Promise<void> {
    return kv.write(async (tx) => {
      const before = await readDoc<TokenDoc>(tx, keys.token(id));
      const after = before && edit(before);
      if (after) writeDoc(tx, keys.token(id), after);
    });
  }

  const touchDue = (d: TokenDoc, now: number, granularityMs: number) => d.lastUsedAt === null || d.lastUsedAt < now - granularityMs;

  return {
    insert: (t: NewToken, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.tokenByHash(t.tokenHash)), tx.get(keys.token(t.id))]);
        if (taken !== null) throw credentialTaken('token', 'tokenHash');
        if (existing !== null) throw credentialTaken('token', 'id');
        const d: TokenDoc = { id: t.id, userId: t.userId, name: t.name, prefix: t.prefix, expiresAt: t.expiresAt, revokedAt: null, lastUsedAt: null, createdAt: now, tokenHash: t.tokenHash };
        writeDoc(tx, keys.token(t.id), d);
        reindex(tx, [], entriesOf(d));
        return tokenOf(d);
      }),

    get: async (id) => {
      const d = await readDoc<TokenDoc>(kv.read, keys.token(id));
      return d ? tokenOf(d) : null;
    },

    findUsableByHash: async (tokenHash, now) => {
      const id = await kv.read.get(keys.tokenByHash(tokenHash));
      const d = id === null ? null : await readDoc<TokenDoc>(kv.read, keys.token(id));
      if (!d || d.tokenHash !== tokenHash || d.revokedAt !== null || (d.expiresAt !== null && d.expiresAt <= now)) return null;
      return tokenOf(d);
    },

    listOfUser: async (userId) => {
      const ids = await kv.read.smembers(keys.tokensOfUser(userId));
      const docs = await readDocs<TokenDoc>(kv.read, ids.map(keys.token));
      return docs.filter((d): d is TokenDoc => d !== null && d.userId === userId).map(tokenOf).sort(newestFirst);
    },

    revoke: (id: string, now: number) => change(id, (d) => (d.revokedAt === null ? { ...d, revokedAt: now } : null)),

    revokeAllOfUser: (userId: string, now: number) =>
      kv.write(async (tx) => {
        const ids = await tx.smembers(keys.tokensOfUser(userId));
        const docs = await readDocs<TokenDoc>(tx, ids.map(keys.token));
        let revoked = 0;
        for (const d of docs) {
          if (!d || d.userId !== userId || d.revokedAt !== null) continue;
          writeDoc(tx, keys.token(d.id), { ...d, revokedAt: now });
          revoked++;
        }
        return revoked;
      }),

    touch: async (id: string, now: number, granularityMs = 60_000) => {
      // most requests find the token touched recently: check before opening a transaction
      const current = await readDoc<TokenDoc>(kv.read, keys.token(id));
      if (!current || !touchDue(current, now, granularityMs)) return;
      await change(id, (d) => (touchDue(d, now, granularityMs) ? { ...d, lastUsedAt: now } : null));
    },
  };
}
