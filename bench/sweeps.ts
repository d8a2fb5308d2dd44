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
import { insertSpaces, insertSweepMix, sweepShare } from './bulk-spaces';
import { envInt } from './env';
import { autoStopFields, benchLine, contextFields, loadContext, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { cpuMeter } from './resources';
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

/**
 * Auto-start at scale (`sweeps-autostart`): BENCH_AUTOSTART_SPACES (1,000) stopped spaces spread
 * over BENCH_AUTOSTART_OWNERS (100) owners without quotas, each with an autostart due a second ago,
 * and a worker running. The sweep tick = the `autostartSweep` activity (what the auto-stop sweep
 * workflow runs after its stops) called from createActivities(deps): it starts a start workflow
 * for each through the LifecycleClient with the quota guard. Timed: tick → the sweep returned (all
 * starts accepted) and tick → every space `running` (read from the store every 250 ms). CPU of this
 * process (sweep + worker + sandbox) and of the Temporal dev server over the same interval.
 * The sandbox: BENCH_LATENCY_MS (10) per Nomad call, allocations healthy ~500 ms after the job.
 */
export async function runAutostartSweep(): Promise<string> {
  const count = envInt('BENCH_AUTOSTART_SPACES', 1000);
  const owners = Math.max(1, Math.min(count, envInt('BENCH_AUTOSTART_OWNERS', 100)));
  const latencyMs = envInt('BENCH_LATENCY_MS', 10);
  const timeoutMs = envInt('BENCH_AUTOSTART_TIMEOUT_S', 1200) * 1000;
  const before = loadContext();
  const b = await startBackend({ sandbox: { allocRunningDelayMs: 300, healthyDelayMs: 200, stopDelayMs: 50, faults: { latencyMs } } });
  try {
    const tpl = await seedTemplate(b.store, seedTemplateInput('debian'));
    const now = Date.now();
    const ids: string[] = [];
    for (let o = 0; o < owners; o++) {
      const user = await seedUser(b.store, `owner${o}`);
      const n = Math.floor(count / owners) + (o < count % owners ? 1 : 0);
      ids.push(...(await insertSpaces(b.store, { count: n, ownerId: user.id, templateId: tpl.id, appliedVersion: tpl.version, phase: () => 'stopped', namePrefix: `a${o}x`, batchSize: 500 })));
    }
    const autostart = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], at: '00:00', timezone: 'UTC' } as const;
    for (const id of ids) await b.store.autostarts.set(id, { ...autostart, days: [...autostart.days] }, now - 1000, now);
    note(`autostart: ${ids.length} stopped spaces of ${owners} owners, each due; latency ${latencyMs} ms`);

    const acts = createActivities(b.deps);
    const env = new MockActivityEnvironment();
    const running = async () => (await b.store.spaces.list({ templateId: tpl.id, phase: 'running', limit: count + 1 })).length;
    const failedSpaces = async () => (await b.store.spaces.list({ templateId: tpl.id, phase: 'failed', limit: count + 1 })).length;
    const temporalCpu = cpuMeter(b.devServer.process.pid);
    const ownCpuBefore = process.cpuUsage();
    const tick = performance.now();
    const sweep = (await env.run(acts.autostartSweep, {})) as Awaited<ReturnType<typeof acts.autostartSweep>>;
    const sweepMs = performance.now() - tick;
    note(`autostart sweep returned after ${round(sweepMs)} ms: ${JSON.stringify(sweep)}`);
    let up = 0;
    let failed = 0;
    let lastNote = tick;
    for (;;) {
      up = await running();
      failed = await failedSpaces();
      if (up + failed >= sweep.started || performance.now() - tick > timeoutMs) break;
      if (performance.now() - lastNote > 10_000) {
        lastNote = performance.now();
        note(`autostart: ${up}/${sweep.started} running, ${failed} failed, ${Math.round((lastNote - tick) / 1000)} s`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const allMs = performance.now() - tick;
    const temporalCpuS = temporalCpu.stop();
    const own = process.cpuUsage(ownCpuBefore);
    const ownCpuS = (own.user + own.system) / 1e6;
    const elapsedS = allMs / 1000;
    note(`autostart: ${up} running, ${failed} failed after ${round(allMs)} ms; CPU: this process ${round(ownCpuS, 1)} s, Temporal ${temporalCpuS === null ? '?' : round(temporalCpuS, 1)} s`);
    const after = loadContext();
    return benchLine('sweeps-autostart', {
      spaces: ids.length,
      owners,
      due: sweep.due,
      started: sweep.started,
      skipped: sweep.skipped,
      failed: sweep.failed,
      sweep_ms: round(sweepMs),
      all_running_ms: round(allMs),
      running: up,
      failed_spaces: failed,
      process_cpu_s: round(ownCpuS, 1),
      process_cpu_pct: round((ownCpuS / elapsedS) * 100, 1),
      temporal_cpu_s: temporalCpuS === null ? 'NaN' : round(temporalCpuS, 1),
      temporal_cpu_pct: temporalCpuS === null ? 'NaN' : round((temporalCpuS / elapsedS) * 100, 1),
      latency_ms: latencyMs,
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    await b.close();
  }
}
