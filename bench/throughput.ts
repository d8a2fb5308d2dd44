/**
 * Throughput: BENCH_SPACES spaces (default 200; 1,000 is the figure) each go through
 * create → start → stop → (new template version with an extra volume) → start → stop → delete,
 * BENCH_CONCURRENCY (50) spaces in flight, on one worker. Each space has its own template so the
 * template change happens exactly between its two starts. Reports ops/s, latency percentiles per
 * operation type, failures, peak RSS of this process (worker + API client + driver) and the CPU
 * of this process, the Temporal dev server and the Nomad sandbox.
 *
 * Two settings choose what "knot" is charged with (both defaults are what a deployment runs):
 * - BENCH_SANDBOX=process (default) runs the Nomad sandbox in a process of its own, measured on
 *   its own line; `inline` runs it in this process, as before 2026-12-07 15:30 UTC.
 * - BENCH_WAIT=temporal (default) waits for each start, stop and delete on the workflow's result
 *   (a Temporal long poll per operation); `events` waits through knot's event log as the API's SSE
 *   clients do (bench/operation-waiter.ts). That is not cheaper: `operation.finished` is written
 *   by the run's last activity, before the run closes, so the next operation's start often meets
 *   the run still open and is retried (2.8 instead of 2 StartWorkflowExecution per operation).
 * A create is always run to completion by LifecycleClient.createSpace, as POST /spaces does.
 */
import { startBackend, temporalDbFromEnv } from './backend';
import { forEachLimit } from './concurrency';
import { envInt, envOptionalInt } from './env';
import { createSpace, runOperation, type TimedOperation } from './knot-ops';
import { OperationWaiter } from './operation-waiter';
import { benchLine, loadContext, contextFields, note } from './report';
import { cpuMeter, mib, RssSampler } from './resources';
import { seedTemplate, seedTemplateInput, seedUser, withExtraVolume } from './seed';
import { round, SampleSet } from './stats';
import { historyCountsByOperation, processCpuSplit, requestsPerOperation, scrapeRequestCounts } from './throughput-stats';

export async function runThroughput(): Promise<string> {
  const spaces = envInt('BENCH_SPACES', 200);
  const concurrency = envInt('BENCH_CONCURRENCY', 50);
  const latencyMs = envInt('BENCH_LATENCY_MS', 10);
  const pollSetting = envOptionalInt('BENCH_POLL_MS');
  const sandboxMode = process.env.BENCH_SANDBOX === 'inline' ? 'inline' : 'process';
  const waitMode = process.env.BENCH_WAIT === 'events' ? 'events' : 'temporal';
  const before = loadContext();
  const b = await startBackend({
    sandboxProcess: sandboxMode === 'process',
    sandbox: { allocRunningDelayMs: 300, healthyDelayMs: 200, stopDelayMs: 50, claimReleaseDelayMs: 100, faults: { latencyMs } },
    ...(pollSetting !== undefined ? { pollIntervalMs: pollSetting } : {}),
  });
  const waiter = waitMode === 'events' ? await OperationWaiter.start(b.store) : undefined;
  try {
    const user = await seedUser(b.store, 'bench');
    const samples = new SampleSet();
    const errors = new Map<string, number>();
    let failures = 0;
    let ops = 0;
    let completedSpaces = 0;
    const completedSpaceIds: string[] = [];
    const record = (t: TimedOperation, label: string = t.type): boolean => {
      ops++;
      if (!t.ok) {
        failures++;
        const key = `${label}: ${(t.error ?? '').slice(0, 160)}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
        return false;
      }
      samples.add(label, t.latencyMs);
      return true;
    };

    note(`throughput: ${spaces} spaces at concurrency ${concurrency}, latency ${latencyMs} ms, poll ${pollSetting ?? 'default (100)'} ms, sandbox ${sandboxMode}, waiting through ${waitMode}`);
    const rss = new RssSampler();
    const temporalCpu = cpuMeter(b.devServer.process.pid);
    const temporalSplitBefore = processCpuSplit(b.devServer.process.pid);
    const sandboxCpu = b.sandboxPid === null ? null : cpuMeter(b.sandboxPid);
    const requestsBefore = await scrapeRequestCounts(b.devServer.metricsUrl);
    const ownCpuBefore = process.cpuUsage();
    const started = performance.now();
    await forEachLimit(
      Array.from({ length: spaces }, (_, i) => i),
      concurrency,
      async (i) => {
        const input = seedTemplateInput(`tpl${i}`);
        const tpl = await seedTemplate(b.store, input);
        const { spaceId, timed } = await createSpace(b, user, tpl, `s${i}`);
        if (!record(timed)) return;
        const step = async (type: 'start' | 'stop' | 'delete', label: string = type) => record(await runOperation(b, { spaceId, type, user, templateName: tpl.name }, undefined, waiter), label);
        if (!(await step('start'))) return;
        if (!(await step('stop'))) return;
        await seedTemplate(b.store, withExtraVolume(input), '1.1.0');
        if (!(await step('start', 'start_updated'))) return;
        if (!(await step('stop'))) return;
        if (!(await step('delete'))) return;
        completedSpaces++;
        completedSpaceIds.push(spaceId);
        if (completedSpaces % 50 === 0) note(`throughput: ${completedSpaces}/${spaces} spaces done, ${Math.round((performance.now() - started) / 1000)} s`);
      },
    );
    const elapsedS = (performance.now() - started) / 1000;
    const peakRss = rss.stop();
    const temporalCpuS = temporalCpu.stop();
    const sandboxCpuS = sandboxCpu?.stop() ?? null;
    const temporalSplitAfter = processCpuSplit(b.devServer.process.pid);
    const own = process.cpuUsage(ownCpuBefore);
    const ownCpuS = (own.user + own.system) / 1e6;
    note(`Temporal requests per operation: ${requestsPerOperation(requestsBefore, await scrapeRequestCounts(b.devServer.metricsUrl), ops)}`);
    // after the timed part: reading histories costs the figures nothing
    const historySample = completedSpaceIds.slice(0, envInt('BENCH_HISTORY_SPACES', 10));
    const histories = await historyCountsByOperation(b.client, historySample);
    for (const [label, c] of Object.entries(histories)) note(`history ${label} (median of ${c.runs}): ${c.events} events, ${c.workflowTasks} workflow tasks, ${c.activityTasks} activity tasks, ${c.localActivities} local activities, ${c.patches} patch markers, ${c.timers} timers, ${c.signals} signals, ${c.upserts} upserts`);
    for (const [k, v] of errors) note(`failure x${v}: ${k}`);
    const leftovers = await b.sandboxState();
    if (waiter?.missed) note(`${waiter.missed} operations ended without their operation.finished event reaching the waiter`);
    note(`sandbox after the run: ${leftovers.jobs.length} jobs, ${leftovers.csiVolumes.length} CSI volumes`);

    const fields: Record<string, number> = {};
    for (const k of ['create', 'start', 'stop', 'start_updated', 'delete']) {
      const s = samples.summary(k);
      fields[`${k}_p50`] = round(s.p50);
      fields[`${k}_p95`] = round(s.p95);
      fields[`${k}_p99`] = round(s.p99);
    }
    const after = loadContext();
    return benchLine('throughput', {
      spaces,
      concurrency,
      ops,
      ops_per_s: round(ops / elapsedS, 2),
      spaces_per_min: round((completedSpaces / elapsedS) * 60, 1),
      elapsed_s: round(elapsedS),
      failures,
      completed_spaces: completedSpaces,
      ...fields,
      peak_rss_mib: mib(peakRss),
      temporal_cpu_s: temporalCpuS === null ? 'NaN' : round(temporalCpuS, 1),
      temporal_cpu_pct: temporalCpuS === null ? 'NaN' : round((temporalCpuS / elapsedS) * 100, 1),
      process_cpu_s: round(ownCpuS, 1),
      process_cpu_pct: round((ownCpuS / elapsedS) * 100, 1),
      temporal_cpu_ms_per_op: temporalCpuS === null ? 'NaN' : round((temporalCpuS / ops) * 1000, 1),
      temporal_sys_cpu_s: temporalSplitBefore && temporalSplitAfter ? round(temporalSplitAfter.system - temporalSplitBefore.system, 1) : 'NaN',
      process_cpu_ms_per_op: round((ownCpuS / ops) * 1000, 1),
      together_cpu_ms_per_op: temporalCpuS === null ? 'NaN' : round(((temporalCpuS + ownCpuS) / ops) * 1000, 1),
      sandbox_cpu_ms_per_op: sandboxCpuS === null ? 'NaN' : round((sandboxCpuS / ops) * 1000, 1),
      sandbox: sandboxMode,
      wait: waitMode,
      ...Object.fromEntries(Object.entries(histories).map(([label, c]) => [`events_${label}`, c.events])),
      leftover_jobs: leftovers.jobs.length,
      leftover_volumes: leftovers.csiVolumes.length,
      latency_ms: latencyMs,
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    waiter?.close();
    await b.close();
  }
}
