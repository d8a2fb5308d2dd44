/**
 * Web sign-in sessions: `session:<id>` (with the cookie's sha256), unique `hash:session:<sha>`,
 * and per user the set `user:<id>:sessions`.
 */
import type { NewSession, Session } from '../model';
import type { SessionRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { readDoc, readDocs, writeDoc, type Kv } from './kv';
import { credentialTaken, newestFirst } from './tokens';

interface SessionDoc extends Session {
  sessionHash: string;
}

function sessionOf(d: SessionDoc): Session {
  return {
    id: d.id,
    userId: d.userId,
    csrfToken: d.csrfToken,
    method: d.method,
    userAgent: d.userAgent,
    ip: d.ip,
    createdAt: d.createdAt,
    lastUsedAt: d.lastUsedAt,
    expiresAt: d.expiresAt,
    revokedAt: d.revokedAt,
  };
}

const usable = (d: SessionDoc, now: number) => d.revokedAt === null && d.expiresAt > now;

export function redisSessions(kv: Kv, keys: Keys): SessionRepository {
  const entriesOf = (d: SessionDoc): IndexEntry[] => [
    { kind: 'unique', key: keys.sessionByHash(d.sessionHash), id: d.id },
    { kind: 'set', key: keys.sessionsOfUser(d.userId), member: d.id },
  ];

  function change(id: string, edit: (d: SessionDoc) => SessionDoc | null): Promise<void> {
    return kv.write(async (tx) => {
      const before = await readDoc<SessionDoc>(tx, keys.session(id));
      const after = before && edit(before);
      if (after) writeDoc(tx, keys.session(id), after);
    });
  }

  const touchDue = (d: SessionDoc, now: number, granularityMs: number) => d.lastUsedAt < now - granularityMs;

  return {
    insert: (s: NewSession, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.sessionByHash(s.sessionHash)), tx.get(keys.session(s.id))]);
        if (taken !== null) throw credentialTaken('session', 'sessionHash');
        if (existing !== null) throw credentialTaken('session', 'id');
        const d: SessionDoc = {
          id: s.id,
          userId: s.userId,
          csrfToken: s.csrfToken,
          method: s.method,
          // the SQL columns' widths
          userAgent: s.userAgent.slice(0, 255),
          ip: s.ip.slice(0, 64),
          createdAt: now,
          lastUsedAt: now,
          expiresAt: s.expiresAt,
          revokedAt: null,
          sessionHash: s.sessionHash,
        };
        writeDoc(tx, keys.session(s.id), d);
        reindex(tx, [], entriesOf(d));
        return sessionOf(d);
      }),

    get: async (id) => {
      const d = await readDoc<SessionDoc>(kv.read, keys.session(id));
      return d ? sessionOf(d) : null;
    },

    findUsableByHash: async (sessionHash, now) => {
      const id = await kv.read.get(keys.sessionByHash(sessionHash));
      const d = id === null ? null : await readDoc<SessionDoc>(kv.read, keys.session(id));
      return d && d.sessionHash === sessionHash && usable(d, now) ? sessionOf(d) : null;
    },

    listActiveOfUser: async (userId, now) => {
      const ids = await kv.read.smembers(keys.sessionsOfUser(userId));
      const docs = await readDocs<SessionDoc>(kv.read, ids.map(keys.session));
      return docs
        .filter((d): d is SessionDoc => d !== null && d.userId === userId && usable(d, now))
        .map(sessionOf)
        .sort(newestFirst);
    },

    revoke: (id: string, now: number) => change(id, (d) => (d.revokedAt === null ? { ...d, revokedAt: now } : null)),

    revokeAllOfUser: (userId: string, now: number, keepId: string | null = null) =>
      kv.write(async (tx) => {
        const ids = await tx.smembers(keys.sessionsOfUser(userId));
        const docs = await readDocs<SessionDoc>(tx, ids.map(keys.session));
        let revoked = 0;
        for (const d of docs) {
          if (!d || d.userId !== userId || d.revokedAt !== null || (keepId && d.id === keepId)) continue;
          writeDoc(tx, keys.session(d.id), { ...d, revokedAt: now });
          revoked++;
        }
        return revoked;
      }),

    touch: async (id: string, now: number, granularityMs = 60_000) => {
      const current = await readDoc<SessionDoc>(kv.read, keys.session(id));
      if (!current || !touchDue(current, now, granularityMs)) return;
      await change(id, (d) => (touchDue(d, now, granularityMs) ? { ...d, lastUsedAt: now } : null));
    },
  };
}
