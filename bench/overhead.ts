/**
 * Orchestration overhead: the same start/stop sequence done (a) by knot's workflows and (b) by the
 * direct baseline script, against the sandbox with a fixed Nomad latency (10 ms per call) and
 * allocations healthy after ~500 ms. Sequential, a fresh space per iteration, alternating which
 * side goes first. Targets: knot ≤ 1.10× the direct script at p50 and ≤ 1.25× at p99.
 *
 * Knobs: BENCH_OVERHEAD_N (30), BENCH_OVERHEAD_WARMUP (3), BENCH_LATENCY_MS (10),
 * BENCH_POLL_MS (unset = knot's default 100 ms poll, used by both sides).
 */
import { startBackend, temporalDbFromEnv } from './backend';
import { directStart, directStop, type DirectSpace } from './direct-baseline';
import { envInt, envOptionalInt } from './env';
import { fetchBreakdown, medianBreakdown, type WorkflowBreakdown } from './history';
import { createSpace, runOperation } from './knot-ops';
import { benchLine, loadContext, contextFields, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { round, SampleSet, type LatencySummary } from './stats';

const DEFAULT_POLL_MS = 100; // activities/nomad-jobs.ts: deps.pollIntervalMs ?? 100

export async function runOverhead(): Promise<string> {
  const iterations = envInt('BENCH_OVERHEAD_N', 30);
  const warmup = envInt('BENCH_OVERHEAD_WARMUP', 3);
  const latencyMs = envInt('BENCH_LATENCY_MS', 10);
  const pollSetting = envOptionalInt('BENCH_POLL_MS');
  const pollMs = pollSetting ?? DEFAULT_POLL_MS;
  const before = loadContext();
  const b = await startBackend({
    sandbox: { allocRunningDelayMs: 300, healthyDelayMs: 200, stopDelayMs: 50, faults: { latencyMs } },
    ...(pollSetting !== undefined ? { pollIntervalMs: pollSetting } : {}),
  });
  try {
    const user = await seedUser(b.store, 'bench');
    const tpl = await seedTemplate(b.store, seedTemplateInput('debian'));
    const input = seedTemplateInput('debian');
    const samples = new SampleSet();
    const histories: Record<'start' | 'stop', { runs: WorkflowBreakdown[]; clientStart: number[] }> = {
      start: { runs: [], clientStart: [] },
      stop: { runs: [], clientStart: [] },
    };
    let failures = 0;

    const knotCycle = async (i: number, record: boolean) => {
      const { spaceId, timed: created } = await createSpace(b, user, tpl, `k${i}`);
      if (!created.ok) throw new Error(`create failed: ${created.error}`);
      let cycle = 0;
      for (const type of ['start', 'stop'] as const) {
        const t = await runOperation(b, { spaceId, type, user, templateName: tpl.name });
        if (!t.ok) {
          failures++;
          note(`knot ${type} ${i} failed: ${t.error}`);
          return;
        }
        cycle += t.latencyMs;
        if (!record) continue;
        samples.add(`knot_${type}`, t.latencyMs);
        histories[type].runs.push(await fetchBreakdown(b.client, t.operation!.workflowId, t.operation!.runId ?? undefined));
        histories[type].clientStart.push(t.requestedAt);
      }
      if (record) samples.add('knot_cycle', cycle);
    };
    const directCycle = async (i: number, record: boolean) => {
      const space: DirectSpace = { id: `direct${i}x${Date.now().toString(36)}`, name: `d${i}`, username: 'bench', templateName: 'debian', job: String(input.job), volumes: String(input.volumes) };
      const opts = { pollIntervalMs: pollMs, namespace: 'default' };
      const t0 = performance.now();
      const { jobId } = await directStart(b.nomad, space, opts);
      const t1 = performance.now();
      await directStop(b.nomad, jobId, opts);
      const t2 = performance.now();
      if (!record) return;
      samples.add('direct_start', t1 - t0);
      samples.add('direct_stop', t2 - t1);
      samples.add('direct_cycle', t2 - t0);
    };

    note(`overhead: ${warmup} warm-up + ${iterations} iterations per side, latency ${latencyMs} ms, poll ${pollMs} ms (knot ${pollSetting === undefined ? 'default' : 'set'})`);
    for (let i = 0; i < warmup + iterations; i++) {
      const record = i >= warmup;
      if (i % 2 === 0) {
        await knotCycle(i, record);
        await directCycle(i, record);
      } else {
        await directCycle(i, record);
        await knotCycle(i, record);
      }
      if ((i + 1) % 10 === 0) note(`overhead: ${i + 1}/${warmup + iterations}`);
    }

    const s = (k: string): LatencySummary => samples.summary(k);
    const ratio = (a: number, c: number) => round(a / c, 3);
    for (const k of ['knot_start', 'direct_start', 'knot_stop', 'direct_stop', 'knot_cycle', 'direct_cycle']) {
      const v = s(k);
      note(`${k.padEnd(13)} n=${v.n} p50=${round(v.p50)} p95=${round(v.p95)} p99=${round(v.p99)} min=${round(v.min)} max=${round(v.max)} ms`);
    }
    for (const type of ['start', 'stop'] as const) {
      const m = medianBreakdown(histories[type].runs, histories[type].clientStart);
      note(`knot ${type} breakdown (medians over ${histories[type].runs.length} runs, ms): pre-start ${round(m.preStartMs)} | workflow total ${round(m.totalMs)} | ${m.workflowTasks} workflow tasks, sum ${round(m.workflowTaskSumMs)} (each ${round(m.workflowTaskMs)}, of which scheduled→started ${round(m.workflowTaskQueueMs)}) | activity queue sum ${round(m.activityQueueSumMs)}`);
      for (const a of m.activities) note(`  ${a.name.padEnd(28)} queue ${String(round(a.queueMs)).padStart(6)}  run ${String(round(a.runMs)).padStart(7)}`);
    }

    const startP50 = ratio(s('knot_start').p50, s('direct_start').p50);
    const startP99 = ratio(s('knot_start').p99, s('direct_start').p99);
    const stopP50 = ratio(s('knot_stop').p50, s('direct_stop').p50);
    const stopP99 = ratio(s('knot_stop').p99, s('direct_stop').p99);
    const p50 = ratio(s('knot_cycle').p50, s('direct_cycle').p50);
    const p99 = ratio(s('knot_cycle').p99, s('direct_cycle').p99);
    const after = loadContext();
    return benchLine('overhead', {
      p50_ratio: p50,
      p99_ratio: p99,
      start_p50_ratio: startP50,
      start_p99_ratio: startP99,
      stop_p50_ratio: stopP50,
      stop_p99_ratio: stopP99,
      knot_start_p50: round(s('knot_start').p50),
      knot_start_p95: round(s('knot_start').p95),
      knot_start_p99: round(s('knot_start').p99),
      direct_start_p50: round(s('direct_start').p50),
      direct_start_p95: round(s('direct_start').p95),
      direct_start_p99: round(s('direct_start').p99),
      knot_stop_p50: round(s('knot_stop').p50),
      knot_stop_p95: round(s('knot_stop').p95),
      knot_stop_p99: round(s('knot_stop').p99),
      direct_stop_p50: round(s('direct_stop').p50),
      direct_stop_p95: round(s('direct_stop').p95),
      direct_stop_p99: round(s('direct_stop').p99),
      target_met: p50 <= 1.1 && p99 <= 1.25 && startP50 <= 1.1 && startP99 <= 1.25 && stopP50 <= 1.1 && stopP99 <= 1.25,
      n: iterations,
      failures,
      latency_ms: latencyMs,
      poll_ms: pollMs,
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    await b.close();
  }
}
