/**
 * agent-idle: what one real agent process costs a space while nobody uses it: linked to the API
 * (production heartbeat, 20 s; production service scan, 5 s), no terminal open. Its RSS after
 * BENCH_IDLE_SETTLE_S (10) s, then its CPU over BENCH_IDLE_SECONDS (30) s from /proc/<pid>/stat.
 *
 * Three processes side by side, started together: `node dist/cli/main.js agent` (the `knot agent`
 * command of the whole CLI), `node dist/cli/agent-main.js` (the standalone agent program the
 * downloadable bundle is built from), each linked for its own space, and a plain
 * `node -e 'setInterval(()=>{},1e9)'`: the floor any Node process pays.
 */
import { spawn } from 'node:child_process';
import { envInt } from './env';
import { mib } from './resources';
import { processCpuSeconds } from './backend';
import { benchLine, loadContext, loadFields, note, type BenchFields } from './report';
import { round } from './stats';
import { procStatusBytes, sleep, spawnKnotAgent, startAgentBench, type AgentEntry, type KnotAgentProcess } from './agent-stack';

interface Measured {
  rss: number;
  hwm: number;
  cpu0: number | null;
}

function fieldsOf(prefix: string, m: Measured, cpu1: number | null, idleS: number): BenchFields {
  const cpuS = m.cpu0 === null || cpu1 === null ? Number.NaN : cpu1 - m.cpu0;
  return {
    [`${prefix}_rss_mib`]: mib(m.rss),
    [`${prefix}_rss_peak_mib`]: mib(m.hwm),
    // /proc counts in 10 ms ticks: 0.01 s is the resolution
    [`${prefix}_cpu_s`]: round(cpuS, 2),
    [`${prefix}_cpu_pct`]: round((cpuS / idleS) * 100, 3),
  };
}

export async function runAgentIdle(): Promise<string> {
  const settleS = envInt('BENCH_IDLE_SETTLE_S', 10);
  const idleS = envInt('BENCH_IDLE_SECONDS', 30);
  const before = loadContext();
  const stack = await startAgentBench();
  const spaces = await stack.runningSpaces(2, 'idle');
  const entries: AgentEntry[] = ['cli', 'standalone'];
  const agents: KnotAgentProcess[] = entries.map((entry, i) => spawnKnotAgent(stack.url, spaces[i]!, { logLevel: 'info', entry }));
  const plain = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  try {
    const t0 = performance.now();
    for (const [i, a] of agents.entries()) {
      await stack.linked(spaces[i]!.id).catch((e: Error) => {
        throw new Error(`${e.message}\n${entries[i]} agent output:\n${a.output()}`);
      });
    }
    note(`agent-idle: both agents linked ${Math.round(performance.now() - t0)} ms after spawn; settling ${settleS} s`);
    await sleep(settleS * 1000);
    const pids = [...agents.map((a) => a.pid), plain.pid!];
    const measured: Measured[] = pids.map((pid) => ({ rss: procStatusBytes(pid, 'VmRSS') ?? Number.NaN, hwm: procStatusBytes(pid, 'VmHWM') ?? Number.NaN, cpu0: processCpuSeconds(pid) }));
    await sleep(idleS * 1000);
    const cpu1 = pids.map((pid) => processCpuSeconds(pid));
    for (const [i, s] of spaces.entries()) {
      if (!stack.api.links.get(s.id)) throw new Error(`the ${entries[i]} agent's link dropped while idle\n${agents[i]!.output()}`);
    }
    const [cli, standalone, bare] = measured as [Measured, Measured, Measured];
    const after = loadContext();
    return benchLine('agent-idle', {
      settle_s: settleS,
      idle_s: idleS,
      ...fieldsOf('cli_agent', cli, cpu1[0]!, idleS),
      ...fieldsOf('standalone_agent', standalone, cpu1[1]!, idleS),
      ...fieldsOf('plain_node', bare, cpu1[2]!, idleS),
      target_rss_mib: 60,
      cli_rss_met: cli.rss <= 60 * 1024 * 1024,
      standalone_rss_met: standalone.rss <= 60 * 1024 * 1024,
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
  } finally {
    plain.kill('SIGKILL');
    for (const a of agents) await a.stop();
    await stack.close();
  }
}
