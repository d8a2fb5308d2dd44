/** One API request scenario measured for a while at a fixed concurrency: requests/s and latency. */
import { runFor } from './concurrency';
import { note } from './report';
import { round, summarize } from './stats';

export interface RequestScenario {
  name: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

/** Calls `request` (which answers the HTTP status, 0 for a transport error) from `concurrency` lanes for `seconds`. */
export async function measureRequests(name: string, opts: { concurrency: number; seconds: number }, request: (i: number) => Promise<number>): Promise<RequestScenario> {
  const latencies: number[] = [];
  let errors = 0;
  const { calls, elapsedMs } = await runFor({ concurrency: opts.concurrency, durationMs: opts.seconds * 1000 }, async (i) => {
    const t0 = performance.now();
    const status = await request(i).catch(() => 0);
    latencies.push(performance.now() - t0);
    if (status !== 200) errors++;
  });
  const s = summarize(latencies);
  const scenario = { name, requests: calls, errors, rps: round(calls / (elapsedMs / 1000)), p50: round(s.p50), p99: round(s.p99) };
  note(`${name}: ${calls} requests, ${errors} errors, ${scenario.rps} req/s, p50 ${scenario.p50} ms, p99 ${scenario.p99} ms`);
  return scenario;
}
