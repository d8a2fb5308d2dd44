/**
 * Throughput: BENCH_SPACES spaces (default 200; 1,000 is the figure) each go through
 * create → start → stop → (new template version with an extra volume) → start → stop → delete,
 * BENCH_CONCURRENCY (50) spaces in flight, on one worker. Each space has its own template so the
 * template change happens exactly between its two starts. Reports ops/s, latency percentiles per
 * operation type, failures, peak RSS of this process (worker + API client + sandbox + driver) and
 * the Temporal dev server's CPU seconds.
 */
import { startBackend, temporalDbFromEnv } from './backend';
import { forEachLimit } from './concurrency';
import { envInt, envOptionalInt } from './env';
import { createSpace, runOperation, type TimedOperation } from './knot-ops';
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
  const before = loadContext();
  const b = await startBackend({
    sandbox: { allocRunningDelayMs: 300, healthyDelayMs: 200, stopDelayMs: 50, claimReleaseDelayMs: 100, faults: { latencyMs } },
    ...(pollSetting !== undefined ? { pollIntervalMs: pollSetting } : {}),
  });
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

    note(`throughput: ${spaces} spaces at concurrency ${concurrency}, latency ${latencyMs} ms, poll ${pollSetting ?? 'default (100)'} ms`);
    const rss = new RssSampler();
    const temporalCpu = cpuMeter(b.devServer.process.pid);
    const temporalSplitBefore = processCpuSplit(b.devServer.process.pid);
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
        const step = async (type: 'start' | 'stop' | 'delete', label: string = type) => record(await runOperation(b, { spaceId, type, user, templateName: tpl.name }), label);
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
    const temporalSplitAfter = processCpuSplit(b.devServer.process.pid);
    const own = process.cpuUsage(ownCpuBefore);
    const ownCpuS = (own.user + own.system) / 1e6;
    note(`Temporal requests per operation: ${requestsPerOperation(requestsBefore, await scrapeRequestCounts(b.devServer.metricsUrl), ops)}`);
    // after the timed part: reading histories costs the figures nothing
    const historySample = completedSpaceIds.slice(0, envInt('BENCH_HISTORY_SPACES', 10));
    const histories = await historyCountsByOperation(b.client, historySample);
    for (const [label, c] of Object.entries(histories)) note(`history ${label} (median of ${c.runs}): ${c.events} events, ${c.workflowTasks} workflow tasks, ${c.activityTasks} activity tasks, ${c.localActivities} local activities, ${c.patches} patch markers, ${c.timers} timers, ${c.signals} signals, ${c.upserts} upserts`);
    for (const [k, v] of errors) note(`failure x${v}: ${k}`);
    const leftovers = b.sandbox.state();
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
      ...Object.fromEntries(Object.entries(histories).map(([label, c]) => [`events_${label}`, c.events])),
      leftover_jobs: leftovers.jobs.length,
      leftover_volumes: leftovers.csiVolumes.length,
      latency_ms: latencyMs,
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    await b.close();
  }
}
