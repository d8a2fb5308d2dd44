/**
 * Purges Nomad jobs that carry `knot_space_id` but that no space owns: unknown or deleted
 * spaces, and stopped/failed spaces with no operation in flight. Jobs without knot's meta are
 * never touched. A job of an existing space submitted within `graceMs` is left for the next
 * sweep, and each purge re-checks the space first, so a start that has just registered its job
 * is not undone.
 */
import { forEachLimit } from '../../core/batches';
import { listStubsCarryMeta, orphanJobReason, submittedWithin, type OrphanJobsResult } from '../../core/sweeps';
import { KNOT_SPACE_META } from '../../nomad/meta';
import type { JobListStub } from '../../nomad/types';
import { heartbeat } from '../context';
import type { ActivityDeps } from '../deps';

export function createOrphanJobActivities(deps: ActivityDeps) {
  const log = deps.logger;

  return {
    async cleanupOrphanJobs(input: { graceMs?: number } = {}): Promise<OrphanJobsResult> {
      const graceMs = input.graceMs ?? 5 * 60_000;
      const result: OrphanJobsResult = { checked: 0, purged: 0, failed: 0 };
      const stubs = await deps.nomad.listJobs({ meta: true });
      heartbeat();
      // only a Nomad before 1.5 (no Meta in stubs at all) needs each job read for its meta
      const metaInStubs = listStubsCarryMeta(stubs, null) || (stubs.length > 0 && listStubsCarryMeta(stubs, await deps.nomad.agentVersion().catch(() => null)));
      const marked: { job: JobListStub; spaceId: string }[] = [];
      await forEachLimit(stubs, 10, async (stub) => {
        const meta = stub.Meta !== undefined || metaInStubs ? stub.Meta : ((await deps.nomad.readJob(stub.ID))?.Meta ?? {});
        const spaceId = meta?.[KNOT_SPACE_META];
        if (spaceId) marked.push({ job: stub, spaceId });
      });
      result.checked = marked.length;

      const spaces = await deps.store.spaces.facts(marked.map((m) => m.spaceId));
      const busy = await deps.store.operations.activeSpaceIds([...spaces.keys()]);
      const now = deps.clock();

      await forEachLimit(marked, 10, async ({ job, spaceId }) => {
        let reason = orphanJobReason(job.ID, spaces.get(spaceId) ?? null, busy.has(spaceId));
        if (!reason) return;
        if (spaces.has(spaceId)) {
          if (submittedWithin(job.SubmitTime, now, graceMs)) return;
          const fresh = await deps.store.spaces.facts([spaceId]);
          const freshBusy = await deps.store.operations.activeSpaceIds([spaceId]);
          reason = orphanJobReason(job.ID, fresh.get(spaceId) ?? null, freshBusy.has(spaceId));
          if (!reason) return;
        }
        try {
          await deps.nomad.deregisterJob(job.ID, { purge: true });
          result.purged++;
          log.info({ jobId: job.ID, spaceId, reason }, 'cleanup: purged orphan Nomad job');
        } catch (e) {
          result.failed++;
          log.warn({ jobId: job.ID, spaceId, err: (e as Error).message }, 'cleanup: could not purge orphan job');
        }
        heartbeat();
      });
      return result;
    },
  };
}
