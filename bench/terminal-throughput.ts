/**
 * terminal-throughput: a command that prints BENCH_TERMINAL_MB (100) MB of 'a' into the terminal,
 * timed from its Enter until a done-marker after it, through knot (every byte over the agent link
 * and the API's WebSocket to the typed client) and directly (the same command in a PTY of this
 * process, read from node-pty), alternating rounds in one run.
 *
 * While knot's rounds run, the RSS of this process (the API; the client shares it) and of the
 * agent process is sampled every 100 ms: with backpressure working, the peaks stay near the
 * idle figures however much flows, since nothing buffers more than its high-water mark.
 */
import { envInt } from './env';
import { processCpuSeconds } from './backend';
import { mib } from './resources';
import { benchLine, loadContext, loadFields, note } from './report';
import { median, round } from './stats';
import { PeakRss, procStatusBytes, shellBaseEnv, spawnKnotAgent, startAgentBench } from './agent-stack';
import { openDirectTerminal, openKnotTerminal, quietShell, type BenchTerminal } from './terminal-drivers';

interface Round {
  bytes: number;
  seconds: number;
  mbPerS: number;
  /** CPU seconds of this process (API + client, or the direct PTY reader) and of the agent */
  ownCpuS: number;
  agentCpuS: number;
}

/** Runs the flood once; the marker is computed by the shell, so the command's own echo never matches it. */
async function flood(t: BenchTerminal, megabytes: number, agentPid: number): Promise<Round> {
  const done = t.out.until('FLOOD_DONE_42', 300_000, `${t.name}: flood`);
  const own0 = process.cpuUsage();
  const agent0 = processCpuSeconds(agentPid) ?? Number.NaN;
  const t0 = performance.now();
  t.write(`head -c ${megabytes * 1_000_000} /dev/zero | tr '\\0' a; echo; echo FLOOD_DONE_$((6*7))\r`);
  const bytes = await done;
  const seconds = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const agentCpuS = (processCpuSeconds(agentPid) ?? Number.NaN) - agent0;
  return { bytes, seconds, mbPerS: bytes / 1e6 / seconds, ownCpuS: (own.user + own.system) / 1e6, agentCpuS };
}

export async function runTerminalThroughput(): Promise<string> {
  const megabytes = envInt('BENCH_TERMINAL_MB', 100);
  const rounds = envInt('BENCH_TERMINAL_ROUNDS', 3);
  const before = loadContext();
  const stack = await startAgentBench();
  const [space] = await stack.runningSpaces(1, 'flood');
  const agent = spawnKnotAgent(stack.url, space!);
  let knot: BenchTerminal | null = null;
  let direct: BenchTerminal | null = null;
  try {
    await stack.linked(space!.id).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent.output()}`);
    });
    knot = await openKnotTerminal(stack.url, space!.id, stack.adminToken);
    direct = openDirectTerminal(shellBaseEnv(agent.home), agent.home);
    await quietShell(knot);
    await quietShell(direct);
    // a small flood first on each side: code paths warm, buffers grown
    await flood(knot, 5, agent.pid);
    await flood(direct, 5, agent.pid);
    await new Promise((r) => setTimeout(r, 1000));
    const idleApiRss = process.memoryUsage.rss();
    const idleAgentRss = procStatusBytes(agent.pid, 'VmRSS') ?? Number.NaN;

    const results = { knot: [] as Round[], direct: [] as Round[] };
    let peakApi = 0;
    let peakAgent = 0;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [knot, direct] : [direct, knot];
      for (const t of order) {
        const sampler = t.name === 'knot' ? new PeakRss([process.pid, agent.pid]) : null;
        const res = await flood(t, megabytes, agent.pid);
        if (sampler) {
          const [api = 0, ag = 0] = sampler.stop();
          peakApi = Math.max(peakApi, api);
          peakAgent = Math.max(peakAgent, ag);
        }
        results[t.name].push(res);
        note(`terminal-throughput round ${r + 1} ${t.name}: ${round(res.bytes / 1e6)} MB in ${round(res.seconds, 2)} s = ${round(res.mbPerS)} MB/s; CPU this process ${round(res.ownCpuS, 2)} s, agent ${round(res.agentCpuS, 2)} s`);
      }
    }
    const knotMbs = median(results.knot.map((x) => x.mbPerS));
    const directMbs = median(results.direct.map((x) => x.mbPerS));
    const ratio = knotMbs / directMbs;
    const after = loadContext();
    return benchLine('terminal-throughput', {
      megabytes,
      rounds,
      knot_mb_s: round(knotMbs),
      direct_mb_s: round(directMbs),
      ratio: round(ratio, 3),
      target_ratio: 0.5,
      met: ratio >= 0.5,
      knot_mb_s_min: round(Math.min(...results.knot.map((x) => x.mbPerS))),
      direct_mb_s_min: round(Math.min(...results.direct.map((x) => x.mbPerS))),
      knot_api_cpu_s_per_100mb: round(median(results.knot.map((x) => (x.ownCpuS / x.bytes) * 1e8)), 2),
      knot_agent_cpu_s_per_100mb: round(median(results.knot.map((x) => (x.agentCpuS / x.bytes) * 1e8)), 2),
      direct_reader_cpu_s_per_100mb: round(median(results.direct.map((x) => (x.ownCpuS / x.bytes) * 1e8)), 2),
      api_rss_idle_mib: mib(idleApiRss),
      api_rss_peak_mib: mib(peakApi),
      agent_rss_idle_mib: mib(idleAgentRss),
      agent_rss_peak_mib: mib(peakAgent),
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
  } finally {
    knot?.close();
    direct?.close();
    await agent.stop();
    await stack.close();
  }
}
