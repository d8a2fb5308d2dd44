/**
 * Retention: forgets spaces deleted longer than `retentionMs` ago (volume rows, operations, agent
 * state, the space) and audit entries older than the audit retention.
 */
import type { PruneAuditResult, PurgeDeletedResult } from '../../core/sweeps';
import { heartbeat } from '../context';
import type { ActivityDeps } from '../deps';

export function createPurgeDeletedActivities(deps: ActivityDeps) {
  return {
    async purgeDeletedSpaces(input: { retentionMs: number; pageSize?: number }): Promise<PurgeDeletedResult> {
      const pageSize = input.pageSize ?? 500;
      const before = deps.clock() - input.retentionMs;
      const result: PurgeDeletedResult = { purged: 0 };
      for (;;) {
        const ids = await deps.store.spaces.listDeletedBefore(before, pageSize);
        if (ids.length === 0) break;
        await deps.store.spaces.purgeDeleted(ids);
        if (deps.agentState) await deps.agentState.forget(ids);
        result.purged += ids.length;
        heartbeat(result);
        if (ids.length < pageSize) break;
      }
      return result;
    },

    async pruneAuditLog(input: { retentionMs: number }): Promise<PruneAuditResult> {
      return { pruned: await deps.store.audit.pruneBefore(deps.clock() - input.retentionMs) };
    },
  };
}
