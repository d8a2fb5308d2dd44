/**
 * agent-links: BENCH_LINKS (1,000) agents linked to one API process. The agents are simulated in a
 * child process (bench/agent-links-sim.ts: the real wire protocol, none of the agent's work), so
 * this process is the API alone (plus an idle Temporal client and the idle Nomad sandbox; no
 * worker). Production link timings (heartbeat 20 s, dead after 50 s); SQLite store, which also
 * keeps the agent state records (no Redis).
 *
 * Memory: heap, external and RSS after a full GC, before and after the links (a warm-up batch
 * linked first so module loading and JIT are not counted per link), as Δ / links.
 * CPU: process.cpuUsage over wall time, (0) baseline: the warm-up links only, (a) idle: all links,
 * heartbeats every 20 s, (b) with every agent sending a state report with a new lastActivity
 * every BENCH_LINKS_REPORT_MS (2,000) ms.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { linkUrl } from '../agent/config';
import { LINK_PATH, HEARTBEAT_MS } from '../link/protocol';
import { envInt } from './env';
import { mib } from './resources';
import { benchLine, loadContext, loadFields, note } from './report';
import { round } from './stats';
import { forceGc, sleep, startAgentBench, type LinkableSpace } from './agent-stack';
import type { SimAnswer, SimCommand } from './agent-links-sim';

const WARMUP_LINKS = 20;

interface MemoryPoint {
  heap: number;
  external: number;
  rss: number;
}

async function settledMemory(): Promise<MemoryPoint> {
  forceGc();
  await sleep(500);
  forceGc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external + m.arrayBuffers, rss: m.rss };
}

/** CPU of this process over `seconds` of wall time, as a share of one core; with the event loop's delay p99. */
async function cpuWindow(seconds: number): Promise<{ pct: number; cpuS: number; loopP99Ms: number }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  loop.disable();
  const cpuS = (used.user + used.system) / 1e6;
  return { pct: (cpuS / wall) * 100, cpuS, loopP99Ms: loop.percentile(99) / 1e6 };
}

export async function runAgentLinks(): Promise<string> {
  const count = envInt('BENCH_LINKS', 1000);
  const idleS = envInt('BENCH_LINKS_IDLE_S', 20);
  const reportS = envInt('BENCH_LINKS_REPORT_S', 30);
  const everyMs = envInt('BENCH_LINKS_REPORT_MS', 2000);
  const before = loadContext();
  const stack = await startAgentBench();
  // execArgv [] so a profiled bench (`node --cpu-prof`) does not profile the simulator too
  const sim = fork(path.join(__dirname, 'agent-links-sim.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const answers: SimAnswer[] = [];
  const waiters: ((a: SimAnswer) => void)[] = [];
  sim.on('message', (a: SimAnswer) => {
    const w = waiters.shift();
    if (w) w(a);
    else answers.push(a);
  });
  const ask = (cmd: SimCommand): Promise<SimAnswer> => {
    sim.send(cmd);
    return new Promise((resolve) => {
      const early = answers.shift();
      if (early) resolve(early);
      else waiters.push(resolve);
    });
  };
  const url = linkUrl(stack.url, LINK_PATH);
  const dialAll = async (spaces: LinkableSpace[]) => {
    const t0 = performance.now();
    const a = await ask({ type: 'dial', linkUrl: url, agents: spaces.map((s) => ({ spaceId: s.id, token: s.token })), concurrency: 50 });
    if (a.type !== 'linked' || a.failed > 0) throw new Error(`dialling: ${JSON.stringify(a)}`);
    return performance.now() - t0;
  };
  try {
    const seeding = performance.now();
    const spaces = await stack.runningSpaces(count + WARMUP_LINKS, 'linked');
    note(`agent-links: ${spaces.length} running spaces with tokens stored in ${Math.round(performance.now() - seeding)} ms`);
    await dialAll(spaces.slice(0, WARMUP_LINKS));
    await sleep(2000);
    // what this process spends with only the warm-up links: the floor the figures below sit on
    const baseline = await cpuWindow(envInt('BENCH_LINKS_BASELINE_S', 10));
    note(`agent-links: baseline (${WARMUP_LINKS} links) ${round(baseline.pct, 2)} % of a core`);
    const mem0 = await settledMemory();
    const dialMs = await dialAll(spaces.slice(WARMUP_LINKS));
    const linked = stack.api.links.size;
    if (linked !== count + WARMUP_LINKS) throw new Error(`the API holds ${linked} links, expected ${count + WARMUP_LINKS}`);
    note(`agent-links: ${count} linked in ${Math.round(dialMs)} ms (concurrency 50)`);
    // the first report of each is recorded and announced (an event row); let that finish
    await sleep(5000);
    const mem1 = await settledMemory();
    const per = (k: keyof MemoryPoint) => (mem1[k] - mem0[k]) / count / 1024;
    note(`agent-links: per link heap ${round(per('heap'))} KiB, external ${round(per('external'))} KiB, rss ${round(per('rss'))} KiB`);

    const idle = await cpuWindow(idleS);
    note(`agent-links: idle ${idleS} s: ${round(idle.pct, 2)} % of a core (event loop p99 ${round(idle.loopP99Ms)} ms)`);

    const sample = spaces.slice(WARMUP_LINKS);
    const activityAt = () => sample.map((s) => stack.api.links.get(s.id)?.lastReport?.lastActivity ?? 0);
    await ask({ type: 'report', everyMs });
    // one period for every agent's phase to have started
    await sleep(everyMs);
    const seen0 = activityAt();
    const busy = await cpuWindow(reportS);
    const seen1 = activityAt();
    const advanced = seen1.filter((v, i) => v > seen0[i]!).length;
    sim.send({ type: 'quiet' } satisfies SimCommand);
    note(`agent-links: reporting ${reportS} s: ${round(busy.pct, 2)} % of a core (event loop p99 ${round(busy.loopP99Ms)} ms); ${advanced}/${count} links' lastActivity advanced`);
    await sleep(1000);
    const mem2 = await settledMemory();
    const stillLinked = stack.api.links.size;
    const after = loadContext();
    return benchLine('agent-links', {
      links: count,
      heartbeat_ms: HEARTBEAT_MS,
      dial_s: round(dialMs / 1000, 2),
      heap_kib_per_link: round(per('heap')),
      external_kib_per_link: round(per('external')),
      rss_kib_per_link: round(per('rss')),
      target_kib_per_link: 100,
      memory_met: per('heap') + per('external') <= 100 && per('rss') <= 100,
      heap_before_mib: mib(mem0.heap),
      heap_after_mib: mib(mem1.heap),
      rss_before_mib: mib(mem0.rss),
      rss_after_mib: mib(mem1.rss),
      rss_after_reports_mib: mib(mem2.rss),
      heap_after_reports_mib: mib(mem2.heap),
      baseline_cpu_pct: round(baseline.pct, 2),
      idle_cpu_pct: round(idle.pct, 2),
      idle_loop_p99_ms: round(idle.loopP99Ms, 1),
      report_every_ms: everyMs,
      reports_per_s: round((count * 1000) / everyMs),
      report_cpu_pct: round(busy.pct, 2),
      report_loop_p99_ms: round(busy.loopP99Ms, 1),
      target_cpu_pct: 10,
      cpu_met: busy.pct <= 10,
      links_reporting: advanced,
      links_at_end: stillLinked - WARMUP_LINKS,
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
  } finally {
    if (sim.connected) sim.send({ type: 'stop' } satisfies SimCommand);
    await new Promise<void>((resolve) => {
      if (sim.exitCode !== null) return resolve();
      const t = setTimeout(() => sim.kill('SIGKILL'), 5000);
      sim.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    await stack.close();
  }
}
