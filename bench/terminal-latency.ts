/**
 * terminal-latency: the keystroke round trip page → API → agent link → agent → PTY → bash's
 * readline echo → back to the page, one character at a time (the next only after the echo of the
 * last), through knot and directly (a PTY of the same shell in this process), in alternating
 * blocks so the machine's load falls on both alike.
 *
 * Each measured keystroke is a letter; after it a DEL (unmeasured, but its echo awaited) erases
 * it, so the line never grows and readline's echo stays exactly the letter typed. The "page" is
 * the typed client's TerminalConnection in this process, which also hosts the API: a browser would
 * add its own event loop, not the server's.
 */
import { cpuMeter, mib } from './resources';
import { envInt } from './env';
import { benchLine, loadContext, loadFields, note } from './report';
import { round, summarize, type LatencySummary } from './stats';
import { shellBaseEnv, spawnKnotAgent, startAgentBench } from './agent-stack';
import { openDirectTerminal, openKnotTerminal, quietShell, type BenchTerminal } from './terminal-drivers';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const ECHO_TIMEOUT_MS = 5_000;

/** Sub-millisecond figures need two decimals (stats.percentileFields keeps one). */
function fineFields(prefix: string, s: LatencySummary): Record<string, number> {
  return { [`${prefix}_p50`]: round(s.p50, 2), [`${prefix}_p95`]: round(s.p95, 2), [`${prefix}_p99`]: round(s.p99, 2), [`${prefix}_max`]: round(s.max, 2) };
}

/** Types `count` letters, each erased again; answers each letter's round trip (ms). */
async function typeBlock(t: BenchTerminal, count: number, offset: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const c = LETTERS[(offset + i) % LETTERS.length]!;
    const echoed = t.out.until(c, ECHO_TIMEOUT_MS, `${t.name}: echo of '${c}'`);
    const t0 = performance.now();
    t.write(c);
    await echoed;
    samples.push(performance.now() - t0);
    // with an empty prompt, readline erases the only character by `\r` + erase-to-end-of-line
    const erased = t.out.until('\x1b[K', ECHO_TIMEOUT_MS, `${t.name}: erase`);
    t.write('\x7f');
    await erased;
  }
  return samples;
}

export async function runTerminalLatency(): Promise<string> {
  const keystrokes = envInt('BENCH_TERMINAL_KEYS', 1000);
  const block = envInt('BENCH_TERMINAL_BLOCK', 50);
  const warmup = envInt('BENCH_TERMINAL_WARMUP', 50);
  const before = loadContext();
  const stack = await startAgentBench();
  const [space] = await stack.runningSpaces(1, 'latency');
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
    await typeBlock(knot, warmup, 0);
    await typeBlock(direct, warmup, 0);

    const samples = { knot: [] as number[], direct: [] as number[] };
    const agentCpu = cpuMeter(agent.pid);
    const ownCpu = process.cpuUsage();
    const started = performance.now();
    for (let done = 0, b = 0; done < keystrokes; done += block, b++) {
      const n = Math.min(block, keystrokes - done);
      // alternate which side goes first, so neither always follows the other
      const order = b % 2 === 0 ? [knot, direct] : [direct, knot];
      for (const t of order) samples[t.name].push(...(await typeBlock(t, n, done)));
    }
    const wallS = (performance.now() - started) / 1000;
    const agentCpuS = agentCpu.stop();
    const own = process.cpuUsage(ownCpu);
    const k = summarize(samples.knot);
    const d = summarize(samples.direct);
    note(`terminal-latency: knot p50 ${round(k.p50, 2)} p95 ${round(k.p95, 2)} p99 ${round(k.p99, 2)} max ${round(k.max, 2)} ms; direct p50 ${round(d.p50, 2)} p95 ${round(d.p95, 2)} p99 ${round(d.p99, 2)} max ${round(d.max, 2)} ms (${keystrokes} each, blocks of ${block}, ${round(wallS)} s)`);
    const after = loadContext();
    return benchLine('terminal-latency', {
      keystrokes,
      block,
      ...fineFields('knot_ms', k),
      ...fineFields('direct_ms', d),
      p95_diff_ms: round(k.p95 - d.p95, 2),
      p50_diff_ms: round(k.p50 - d.p50, 2),
      target_p95_diff_ms: 10,
      met: k.p95 - d.p95 <= 10,
      wall_s: round(wallS),
      bench_process_cpu_s: round((own.user + own.system) / 1e6, 2),
      agent_cpu_s: agentCpuS === null ? 'n/a' : round(agentCpuS, 2),
      bench_rss_mib: mib(process.memoryUsage.rss()),
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
