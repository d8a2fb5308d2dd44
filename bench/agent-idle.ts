/**
 * agent-idle: what one real `knot agent` process costs a space while nobody uses it: linked to
 * the API (production heartbeat, 20 s; production service scan, 5 s), no terminal open. Its RSS
 * after BENCH_IDLE_SETTLE_S (10) s, then its CPU over BENCH_IDLE_SECONDS (30) s from
 * /proc/<pid>/stat, beside a plain `node -e 'setInterval(()=>{},1e9)'` started at the same time:
 * the floor any Node process pays.
 */
import { spawn } from 'node:child_process';
import { envInt } from './env';
import { mib } from './resources';
import { processCpuSeconds } from './backend';
import { benchLine, loadContext, loadFields, note } from './report';
import { round } from './stats';
import { procStatusBytes, sleep, spawnKnotAgent, startAgentBench } from './agent-stack';

export async function runAgentIdle(): Promise<string> {
  const settleS = envInt('BENCH_IDLE_SETTLE_S', 10);
  const idleS = envInt('BENCH_IDLE_SECONDS', 30);
  const before = loadContext();
  const stack = await startAgentBench();
  const [space] = await stack.runningSpaces(1, 'idle');
  const agent = spawnKnotAgent(stack.url, space!, 'info');
  const plain = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  try {
    const linkedAt = performance.now();
    await stack.linked(space!.id).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent.output()}`);
    });
    note(`agent-idle: linked ${Math.round(performance.now() - linkedAt)} ms after spawn; settling ${settleS} s`);
    await sleep(settleS * 1000);
    const agentRss = procStatusBytes(agent.pid, 'VmRSS') ?? Number.NaN;
    const agentHwm = procStatusBytes(agent.pid, 'VmHWM') ?? Number.NaN;
    const plainRss = procStatusBytes(plain.pid!, 'VmRSS') ?? Number.NaN;

    const agentCpu0 = processCpuSeconds(agent.pid);
    const plainCpu0 = processCpuSeconds(plain.pid);
    await sleep(idleS * 1000);
    const agentCpu1 = processCpuSeconds(agent.pid);
    const plainCpu1 = processCpuSeconds(plain.pid);
    const agentRssEnd = procStatusBytes(agent.pid, 'VmRSS') ?? Number.NaN;
    if (!stack.api.links.get(space!.id)) throw new Error(`the agent's link dropped while idle\nagent output:\n${agent.output()}`);
    const cpu = (a: number | null, b: number | null) => (a === null || b === null ? Number.NaN : round(b - a, 2));
    const agentCpuS = cpu(agentCpu0, agentCpu1);
    const after = loadContext();
    return benchLine('agent-idle', {
      settle_s: settleS,
      idle_s: idleS,
      agent_rss_mib: mib(agentRss),
      agent_rss_end_mib: mib(agentRssEnd),
      agent_rss_peak_mib: mib(agentHwm),
      plain_node_rss_mib: mib(plainRss),
      target_rss_mib: 60,
      rss_met: agentRss <= 60 * 1024 * 1024,
      // /proc counts in 10 ms ticks: 0.01 s is the resolution
      agent_cpu_s: agentCpuS,
      agent_cpu_pct: round((agentCpuS / idleS) * 100, 3),
      plain_node_cpu_s: cpu(plainCpu0, plainCpu1),
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
  } finally {
    plain.kill('SIGKILL');
    await agent.stop();
    await stack.close();
  }
}
