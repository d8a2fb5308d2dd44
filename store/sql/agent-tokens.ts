/** Agent tokens on SQL (`agent_tokens`): only each token's sha256 is stored, one per space and kind. */
import type { AgentToken, AgentTokenKind } from '../model';
import type { AgentTokenRepository } from '../store';
import { alreadyInUse } from '../../core/errors';
import { isUniqueViolation, type Queryable } from './db';
import { run, selectFirst } from './fast-sql';

/** A space's token of one kind: replaced by `issue`, revoked by `revokeForSpace`. */
const DELETE_OF_KIND = 'delete from `agent_tokens` where `space_id` = ? and `kind` = ?';

function fromRow(r: Record<string, unknown>): AgentToken {
  return { id: r.id as string, spaceId: r.space_id as string, kind: r.kind as AgentTokenKind, createdAt: Number(r.created_at) };
}

export function sqlAgentTokens(db: Queryable): AgentTokenRepository {
  return {
    async issue(t, now) {
      try {
        // the replaced token stops working in the same commit the new one starts to
        await db.transaction(async (trx) => {
          // a hash issued before is a conflict even when it is the one being replaced (as on Redis)
          // every space start issues one: hand-written SQL on the fast path (fast-sql.ts)
          if (await selectFirst(trx, 'select `id` from `agent_tokens` where `token_hash` = ? limit 1', [t.tokenHash])) throw alreadyInUse('an agent token with this id or hash already exists', 'tokenHash');
          await run(trx, DELETE_OF_KIND, [t.spaceId, t.kind]);
          await run(trx, 'insert into `agent_tokens` (`created_at`, `id`, `kind`, `space_id`, `token_hash`) values (?, ?, ?, ?, ?)', [now, t.id, t.kind, t.spaceId, t.tokenHash]);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyInUse('an agent token with this id or hash already exists', 'tokenHash');
        throw e;
      }
      return { id: t.id, spaceId: t.spaceId, kind: t.kind, createdAt: now };
    },

    async findByHash(tokenHash) {
      const r = await db('agent_tokens').where({ token_hash: tokenHash }).first();
      return r ? fromRow(r) : null;
    },

    async revokeForSpace(spaceId, kind) {
      const revoked = kind ? await run(db, DELETE_OF_KIND, [spaceId, kind]) : await run(db, 'delete from `agent_tokens` where `space_id` = ?', [spaceId]);
      return revoked.changes;
    },
  };
}
