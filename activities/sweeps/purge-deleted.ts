/** Forgets spaces deleted longer than `retentionMs` ago: volume rows, operations, agent state, the space. */
import type { PurgeDeletedResult } from '../../core/sweeps';
import { listSpacesDeletedBefore, purgeDeletedSpaces } from '../../store/spaces';
import { heartbeat } from '../context';
import type { ActivityDeps } from '../deps';

export function createPurgeDeletedActivities(deps: ActivityDeps) {
  return {
    async purgeDeletedSpaces(input: { retentionMs: number; pageSize?: number }): Promise<PurgeDeletedResult> {
      const pageSize = input.pageSize ?? 500;
      const before = deps.clock() - input.retentionMs;
      const result: PurgeDeletedResult = { purged: 0 };
      for (;;) {
        const ids = await listSpacesDeletedBefore(deps.db, before, pageSize);
        if (ids.length === 0) break;
        await purgeDeletedSpaces(deps.db, ids);
        if (deps.agentState) await deps.agentState.forget(ids);
        result.purged += ids.length;
        heartbeat(result);
        if (ids.length < pageSize) break;
      }
      return result;
    },
  };
}
