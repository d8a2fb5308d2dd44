/**
 * Event latency: step change → event received by SSE clients, with 1 and with BENCH_EVENT_CLIENTS
 * (500) clients connected through the typed client, while BENCH_EVENT_OPS (5) start+stop cycles
 * run on a real worker. Latency = arrival at the client − the time the activity recorded the step
 * (same process, same clock). Memory per connected client = (RSS and heap after connecting − before)
 * ÷ clients; API and clients share the process, so it is an upper bound for the server side.
 */
import { KnotClient, type KnotEvent } from '../client';
import { startBackend, temporalDbFromEnv } from './backend';
import { envInt } from './env';
import { runOperation, createSpace } from './knot-ops';
import { benchLine, contextFields, loadContext, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { round, summarize } from './stats';

interface Listener {
  latencies: number[];
  /** every event received, of any type */
  received: { n: number };
  abort: AbortController;
  opened: Promise<void>;
}

function listen(client: KnotClient): Listener {
  const latencies: number[] = [];
  const received = { n: 0 };
  const abort = new AbortController();
  let opened!: () => void;
  const p = new Promise<void>((r) => (opened = r));
  void (async () => {
    try {
      for await (const e of client.events({ signal: abort.signal, onOpen: () => opened() })) {
        received.n++;
        if (e.type === 'operation.step') latencies.push(Date.now() - Date.parse((e as KnotEvent).at));
      }
    } catch {
      // aborted at the end
    }
  })();
  return { latencies, received, abort, opened: p };
}

export async function runEvents(): Promise<string> {
  const many = envInt('BENCH_EVENT_CLIENTS', 500);
  const cycles = envInt('BENCH_EVENT_OPS', 5);
  const before = loadContext();
  const b = await startBackend({ api: true, worker: true, temporalDb: temporalDbFromEnv() });
  const fields: Record<string, number | string> = {};
  try {
    const user = await seedUser(b.store, 'bench');
    const tpl = await seedTemplate(b.store, seedTemplateInput('debian'));
    const client = new KnotClient({ url: b.api!.url, token: b.adminToken, timeoutMs: 60_000 });
    const { spaceId } = await createSpace(b, user, tpl, 'events');

    // CPU of this process over the same operations with 1 and with `many` clients: the difference
    // is the cost of the extra deliveries (server fan-out and SSE writes, plus the clients' parsing:
    // an upper bound for the server side)
    const cpu: Record<number, { ms: number; deliveries: number }> = {};
    for (const clients of [1, many]) {
      global.gc?.();
      const mem0 = process.memoryUsage();
      const listeners = Array.from({ length: clients }, () => listen(client));
      await Promise.all(listeners.map((l) => l.opened));
      await new Promise((r) => setTimeout(r, 500));
      global.gc?.();
      const mem1 = process.memoryUsage();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < cycles; i++) {
        for (const type of ['start', 'stop'] as const) {
          const t = await runOperation(b, { spaceId, type, user, templateName: tpl.name });
          if (!t.ok) throw new Error(`${type} failed: ${t.error}`);
        }
      }
      // the last events are still on their way for a moment
      await new Promise((r) => setTimeout(r, 1000));
      const used = process.cpuUsage(cpu0);
      cpu[clients] = { ms: (used.user + used.system) / 1000, deliveries: listeners.reduce((n, l) => n + l.received.n, 0) };
      const all = listeners.flatMap((l) => l.latencies);
      for (const l of listeners) l.abort.abort();
      const s = summarize(all);
      const perClient = clients > 1 ? { rss_kib_per_client: round((mem1.rss - mem0.rss) / 1024 / clients), heap_kib_per_client: round((mem1.heapUsed - mem0.heapUsed) / 1024 / clients) } : {};
      note(`events with ${clients} client(s): ${all.length} step events received, p50 ${round(s.p50)} ms, p95 ${round(s.p95)} ms, max ${round(s.max)} ms ${JSON.stringify(perClient)}`);
      Object.assign(fields, { [`c${clients}_events`]: all.length, [`c${clients}_p50_ms`]: round(s.p50), [`c${clients}_p95_ms`]: round(s.p95), [`c${clients}_max_ms`]: round(s.max) }, perClient);
      await new Promise((r) => setTimeout(r, 500));
    }
    const extra = cpu[many]!.deliveries - cpu[1]!.deliveries;
    if (extra > 0) {
      fields.cpu_us_per_delivery = round(((cpu[many]!.ms - cpu[1]!.ms) * 1000) / extra);
      fields.deliveries = cpu[many]!.deliveries;
      note(`CPU ${round(cpu[1]!.ms)} ms with 1 client (${cpu[1]!.deliveries} deliveries), ${round(cpu[many]!.ms)} ms with ${many} (${cpu[many]!.deliveries}): ${fields.cpu_us_per_delivery} µs per extra delivery`);
    }
  } finally {
    await b.close();
  }
  return benchLine('events', { clients: many, cycles, ...fields, ...contextFields(temporalDbFromEnv(), before, loadContext()) });
}
