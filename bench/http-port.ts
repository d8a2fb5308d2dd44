/**
 * http-port: requests per second and latency of a small GET to an HTTP app "inside the space"
 * (a space-traffic.ts app on loopback, where the agent runs) through knot's path-form proxy —
 * `/spaces/<owner>/<space>/ports/<port>/` with a bearer token: API (its checks, port-grants.ts) →
 * one HTTP/2 request on the agent link (HTTP/2 on the upgraded socket, link/raw-link.ts) → real
 * `knot agent` → its keep-alive pool to the app (agent/http-relay.ts) — against the
 * same app reached directly. The load is a space-traffic.ts child of its own with a fixed number
 * of keep-alive clients, each sending its next request when the last has answered; the two sides
 * alternate in blocks.
 */
import { processCpuSeconds } from './backend';
import { envInt } from './env';
import { benchLine, loadContext, loadFields, note } from './report';
import { measureTraffic, startNodeProxy, startSpaceLinkBench, type SpaceLinkBench } from './space-link-stack';
import { percentile, round } from './stats';

interface HttpResult {
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  ms: number;
  latencies: number[];
}

/** `nodeProxy`: the same app behind the least a Node.js relay can be (space-traffic.ts proxy), the yardstick for what any relay written in Node costs. */
type Side = 'knot' | 'direct' | 'nodeProxy';
const SIDES: Side[] = ['knot', 'direct', 'nodeProxy'];

export async function runHttpPort(): Promise<string> {
  const clients = envInt('BENCH_HTTP_CLIENTS', 32);
  const seconds = envInt('BENCH_HTTP_SECONDS', 10);
  const blocks = envInt('BENCH_HTTP_BLOCKS', 2);
  const before = loadContext();
  let bench: SpaceLinkBench | null = null;
  let nodeProxy: Awaited<ReturnType<typeof startNodeProxy>> | null = null;
  try {
    bench = await startSpaceLinkBench('http');
    const port = bench.servers.httpPort;
    nodeProxy = await startNodeProxy(port);
    const urls: Record<Side, string> = {
      knot: `${bench.stack.url}/spaces/${bench.owner}/${bench.spaceName}/ports/${port}/`,
      direct: `http://127.0.0.1:${port}/`,
      nodeProxy: `http://127.0.0.1:${nodeProxy.port}/`,
    };
    const env: Record<Side, NodeJS.ProcessEnv> = { knot: { ...process.env, BENCH_BEARER: bench.stack.adminToken }, direct: process.env, nodeProxy: process.env };
    const load = (side: Side, s: number) => measureTraffic<HttpResult>(['http', urls[side], String(clients), String(s)], env[side]);
    for (const side of SIDES) {
      const w = await load(side, 1);
      if (w.ok === 0) throw new Error(`${side}: no request succeeded (statuses ${JSON.stringify(w.statuses)})`);
    }
    const empty = (): HttpResult => ({ ok: 0, errors: 0, statuses: {}, ms: 0, latencies: [] });
    const total: Record<Side, HttpResult> = { knot: empty(), direct: empty(), nodeProxy: empty() };
    // CPU over knot's blocks: the API (this process), the agent, the app; over direct's: the app
    const cpu = { api: 0, agent: 0, appKnot: 0, appDirect: 0 };
    const ownCpu = () => (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
    for (let b = 0; b < blocks; b++) {
      const order: Side[] = b % 2 === 0 ? SIDES : [...SIDES].reverse();
      for (const side of order) {
        const c0 = { api: ownCpu(), agent: processCpuSeconds(bench.agent.pid) ?? 0, app: processCpuSeconds(bench.servers.pid) ?? 0 };
        const r = await load(side, seconds / blocks);
        const app = (processCpuSeconds(bench.servers.pid) ?? 0) - c0.app;
        if (side === 'knot') {
          cpu.api += ownCpu() - c0.api;
          cpu.agent += (processCpuSeconds(bench.agent.pid) ?? 0) - c0.agent;
          cpu.appKnot += app;
        } else if (side === 'direct') cpu.appDirect += app;
        const t = total[side];
        t.ok += r.ok;
        t.errors += r.errors;
        t.ms += r.ms;
        // not push(...): a long run's hundreds of thousands of samples overflow the call stack
        for (const l of r.latencies) t.latencies.push(l);
        for (const [k, v] of Object.entries(r.statuses)) t.statuses[k] = (t.statuses[k] ?? 0) + v;
        note(`http-port block ${b + 1}/${blocks} ${side}: ${round(r.ok / (r.ms / 1000))} req/s, p99 ${round(percentile(r.latencies, 99), 2)} ms, ${r.errors} errors`);
      }
    }
    const after = loadContext();
    const rps = (side: Side) => total[side].ok / (total[side].ms / 1000);
    const k = rps('knot');
    const d = rps('direct');
    const np = rps('nodeProxy');
    const perKReq = (s: number, side: Side) => round((s / total[side].ok) * 1e6, 1);
    return benchLine('http-port', {
      clients,
      seconds_per_side: seconds,
      blocks,
      knot_rps: round(k),
      direct_rps: round(d),
      ratio: round(k / d, 3),
      target_ratio: 0.5,
      met: k / d >= 0.5,
      node_proxy_rps: round(np),
      node_proxy_ratio: round(np / d, 3),
      knot_vs_node_proxy: round(k / np, 3),
      node_proxy_ms_p99: round(percentile(total.nodeProxy.latencies, 99), 2),
      knot_ms_p50: round(percentile(total.knot.latencies, 50), 2),
      knot_ms_p99: round(percentile(total.knot.latencies, 99), 2),
      direct_ms_p50: round(percentile(total.direct.latencies, 50), 2),
      direct_ms_p99: round(percentile(total.direct.latencies, 99), 2),
      knot_errors: total.knot.errors,
      direct_errors: total.direct.errors,
      knot_statuses: JSON.stringify(total.knot.statuses),
      // CPU milliseconds per 1,000 requests
      api_cpu_ms_per_kreq: perKReq(cpu.api, 'knot'),
      agent_cpu_ms_per_kreq: perKReq(cpu.agent, 'knot'),
      app_cpu_ms_per_kreq_knot: perKReq(cpu.appKnot, 'knot'),
      app_cpu_ms_per_kreq_direct: perKReq(cpu.appDirect, 'direct'),
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
  } finally {
    await nodeProxy?.stop();
    await bench?.close();
  }
}
