/**
 * Sweeps: the auto-stop and cleanup sweep activities (activities/sweeps.ts) run directly from
 * createActivities(deps), timed, with BENCH_SWEEP_SPACES (100,000) spaces stored:
 * 60% running (1% of those past the template's maxUptime of 1h → the auto-stop sweep starts a stop
 * workflow for each through the real LifecycleClient; no worker runs, so they are accepted only),
 * 30% stopped, 10% deleted 30 days ago (purged by the cleanup sweep, retention 7 days), plus
 * BENCH_SWEEP_STUCK (100) operations past their deadline whose workflows never existed.
 * Nomad (the sandbox) holds no knot objects, so the orphan job/volume parts only list and compare.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { newId } from '../core/names';
import { startBackend, temporalDbFromEnv } from './backend';
import { insertSweepMix, sweepShare } from './bulk-spaces';
import { envInt } from './env';
import { autoStopFields, benchLine, contextFields, loadContext, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { round, timedMs } from './stats';

export async function runSweeps(): Promise<string> {
  const count = envInt('BENCH_SWEEP_SPACES', 100_000);
  const stuck = envInt('BENCH_SWEEP_STUCK', 100);
  const before = loadContext();
  const b = await startBackend({ worker: false, sandbox: { faults: { latencyMs: 0 } } });
  try {
    const user = await seedUser(b.store, 'bench');
    const tpl = await seedTemplate(b.store, { ...seedTemplateInput('debian'), maxUptime: '1h' });
    const now = Date.now();
    const seeding = performance.now();
    const ids = await insertSweepMix(b.store, { count, ownerId: user.id, templateId: tpl.id, appliedVersion: tpl.version, now, batchSize: 2000 });
    for (let k = 0; k < stuck; k++) {
      const spaceId = ids[k * 100 + 61] as string; // a stopped space
      const id = newId(now - 7200_000);
      await b.store.operations.insert({ id, spaceId, type: 'start', requestedBy: user.id, workflowId: `space-${spaceId}`, deadlineAt: now - 3600_000 }, now - 7200_000);
    }
    const due = ids.filter((_, i) => sweepShare(i) === 'due').length;
    const deleted = ids.filter((_, i) => sweepShare(i) === 'deleted').length;
    note(`sweeps: ${count} spaces (${due} due for auto-stop, ${deleted} deleted) and ${stuck} stuck operations stored in ${Math.round(performance.now() - seeding)} ms`);

    const acts = createActivities(b.deps);
    // as the worker runs them: inside an activity context (heartbeats go to the mock)
    const env = new MockActivityEnvironment();
    const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) => (): Promise<R> => env.run(fn, ...args) as Promise<R>;
    const autoStop = await timedMs(run(acts.autoStopSweep, {}));
    note(`auto-stop sweep: ${round(autoStop.ms)} ms ${JSON.stringify(autoStop.result)}`);
    const jobs = await timedMs(run(acts.cleanupOrphanJobs, {}));
    const volumes = await timedMs(run(acts.cleanupOrphanVolumes, {}));
    const stuckOps = await timedMs(run(acts.failStuckOperations, {}));
    const purge = await timedMs(run(acts.purgeDeletedSpaces, { retentionMs: 7 * 24 * 3600_000 }));
    const cleanupMs = jobs.ms + volumes.ms + stuckOps.ms + purge.ms;
    note(`cleanup sweep: ${round(cleanupMs)} ms: jobs ${round(jobs.ms)} ${JSON.stringify(jobs.result)}, volumes ${round(volumes.ms)} ${JSON.stringify(volumes.result)}, stuck operations ${round(stuckOps.ms)} ${JSON.stringify(stuckOps.result)}, deleted spaces ${round(purge.ms)} ${JSON.stringify(purge.result)}`);
    // a second auto-stop pass: nothing is due any more (stops were recorded), the pure scan cost
    const rescan = await timedMs(run(acts.autoStopSweep, {}));
    note(`auto-stop sweep again: ${round(rescan.ms)} ms ${JSON.stringify(rescan.result)}`);
    const after = loadContext();
    return benchLine('sweeps', {
      spaces: count,
      ...autoStopFields(autoStop, rescan),
      cleanup_ms: round(cleanupMs),
      cleanup_jobs_ms: round(jobs.ms),
      cleanup_volumes_ms: round(volumes.ms),
      cleanup_stuck_ms: round(stuckOps.ms),
      cleanup_stuck_failed: stuckOps.result.markedFailed,
      cleanup_purge_ms: round(purge.ms),
      cleanup_purged: purge.result.purged,
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    await b.close();
  }
}
