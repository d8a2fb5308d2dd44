/** One API request scenario measured for a while at a fixed concurrency: requests/s and latency. */
import { KnotApiError, type KnotClient } from '../client';
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

/**
 * The reads a space list page makes: GET /api/v1/spaces?limit=50 (the first page), walking every
 * page by cursor (each lane its own walk, starting again at the end), and GET /api/v1/spaces/:id
 * over `ids` — after a second of warm-up (JIT, page caches).
 */
export async function measureSpaceReads(
  client: KnotClient,
  ids: readonly string[],
  opts: { concurrency: number; seconds: number; label: string },
): Promise<{ list: RequestScenario; paged: RequestScenario; get: RequestScenario }> {
  const statusOf = (e: unknown) => (e instanceof KnotApiError ? e.status : 0);
  const timed = (name: string, request: (i: number) => Promise<number>) => measureRequests(`${opts.label} ${name}`, opts, request);
  await runFor({ concurrency: 4, durationMs: 1000 }, async () => {
    await client.listSpaces({ limit: 50 });
  });
  const list = await timed('list', () => client.listSpaces({ limit: 50 }).then(() => 200, statusOf));
  const cursors = new Map<number, string | null>();
  let lane = 0;
  const paged = await timed('list_paged', () => {
    const me = lane++ % opts.concurrency;
    const cursor = cursors.get(me) ?? null;
    return client.listSpaces({ limit: 50, ...(cursor ? { cursor } : {}) }).then((page) => {
      cursors.set(me, page.nextCursor);
      return 200;
    }, statusOf);
  });
  const get = await timed('get', (i) => client.getSpace(ids[(i * 7919) % ids.length]!).then(() => 200, statusOf));
  return { list, paged, get };
}
