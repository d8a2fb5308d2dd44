/**
 * Agent tokens: `agent-token:<id>` (with the token's sha256), unique `hash:agent-token:<sha>`, and
 * per space and kind `space:<id>:agent-token:<kind>` → the id of its one token of that kind.
 */
import { AGENT_TOKEN_KINDS, type AgentToken, type AgentTokenKind, type NewAgentToken } from '../model';
import type { AgentTokenRepository } from '../store';
import { alreadyInUse } from '../../core/errors';
import type { Keys } from './keys';
import { readDoc, writeDoc, type Kv, type KvTx } from './kv';

interface AgentTokenDoc extends AgentToken {
  tokenHash: string;
}

const tokenOf = (d: AgentTokenDoc): AgentToken => ({ id: d.id, spaceId: d.spaceId, kind: d.kind, createdAt: d.createdAt });

/** Deletes the space's token of this kind (document, hash, pointer); whether there was one. */
async function dropKind(tx: KvTx, keys: Keys, spaceId: string, kind: AgentTokenKind): Promise<boolean> {
  const pointer = keys.agentTokenOfSpace(spaceId, kind);
  const id = await tx.get(pointer);
  if (id === null) return false;
  tx.del(pointer);
  const d = await readDoc<AgentTokenDoc>(tx, keys.agentToken(id));
  if (!d) return false;
  tx.del(keys.agentToken(id));
  if ((await tx.get(keys.agentTokenByHash(d.tokenHash))) === id) tx.del(keys.agentTokenByHash(d.tokenHash));
  return true;
}

/** Every agent token of a space, inside the caller's transaction (purge of a deleted space); how many. */
export async function dropAgentTokensOfSpace(tx: KvTx, keys: Keys, spaceId: string): Promise<number> {
  let dropped = 0;
  for (const kind of AGENT_TOKEN_KINDS) if (await dropKind(tx, keys, spaceId, kind)) dropped++;
  return dropped;
}

export function redisAgentTokens(kv: Kv, keys: Keys): AgentTokenRepository {
  return {
    issue: (t: NewAgentToken, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.agentTokenByHash(t.tokenHash)), tx.get(keys.agentToken(t.id))]);
        if (taken !== null || existing !== null) throw alreadyInUse('an agent token with this id or hash already exists', 'tokenHash');
        // the replaced token stops working in the same commit the new one starts to
        await dropKind(tx, keys, t.spaceId, t.kind);
        const d: AgentTokenDoc = { id: t.id, spaceId: t.spaceId, kind: t.kind, createdAt: now, tokenHash: t.tokenHash };
        writeDoc(tx, keys.agentToken(t.id), d);
        tx.set(keys.agentTokenByHash(t.tokenHash), t.id);
        tx.set(keys.agentTokenOfSpace(t.spaceId, t.kind), t.id);
        return tokenOf(d);
      }),

    findByHash: async (tokenHash) => {
      const id = await kv.read.get(keys.agentTokenByHash(tokenHash));
      const d = id === null ? null : await readDoc<AgentTokenDoc>(kv.read, keys.agentToken(id));
      return d && d.tokenHash === tokenHash ? tokenOf(d) : null;
    },

    revokeForSpace: (spaceId: string, kind?: AgentTokenKind) =>
      kv.write(async (tx) => {
        if (kind) return (await dropKind(tx, keys, spaceId, kind)) ? 1 : 0;
        return dropAgentTokensOfSpace(tx, keys, spaceId);
      }),
  };
}
