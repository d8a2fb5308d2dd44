/**
 * Lifecycle webhooks: BENCH_WEBHOOK_EVENTS (1,000) `operation.finished` events over
 * BENCH_WEBHOOK_SPACES (50) spaces, to BENCH_WEBHOOK_ENDPOINTS (3) endpoints on one loopback
 * receiver, through the real path: the dispatcher workflow follows the event log (its defaults:
 * 200 ms poll, as `knot worker` runs it), writes the delivery rows, hands them to one queue workflow
 * per (endpoint, space) with signalWithStart, each attempt an activity sending a signed POST.
 *
 * The events are appended straight through the store's events repository (`store.events.append`,
 * what the lifecycle activities call), not produced by real operations: a real start/stop costs
 * ~1 s of Temporal and sandbox work and would measure the lifecycle, not the webhooks.
 *
 * Two phases on the same backend: a **burst** (all events appended as fast as the loop goes:
 * the deliveries per second are the capacity, the latency includes the backlog) and a **paced** run
 * (BENCH_WEBHOOK_PACED_EVENTS (200) at BENCH_WEBHOOK_RATE (20) events/s: the latency of a
 * steady load). Latency = the receiver's arrival − the event's `at` (the body's `timestamp`);
 * same process, same clock. Temporal history events per delivery = the queue workflows'
 * history lengths (describe) ÷ deliveries; the dispatcher's own history is reported apart.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encryptSecret } from '../core/crypto';
import { webhookDispatcherWorkflowId, webhookQueueWorkflowId } from '../core/webhook-queue';
import { newWebhookSecret, webhookSecretAad } from '../core/webhooks';
import { ensureWebhookDispatcher } from '../temporal/webhook-client';
import { startBackend, temporalDbFromEnv, BENCH_SETTINGS } from './backend';
import { envInt } from './env';
import { benchLine, contextFields, loadContext, note } from './report';
import { round, summarize } from './stats';

interface Arrival {
  endpoint: string;
  id: string;
  eventAt: number;
  at: number;
}

function startReceiver(arrivals: Arrival[]): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      let body: { timestamp: string };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string };
      } catch {
        // not ours (an ephemeral loopback port someone else's test used before): ignored
        res.writeHead(400).end();
        return;
      }
      if (!req.url?.startsWith('/ep') || !req.headers['webhook-id']) return void res.writeHead(400).end();
      arrivals.push({ endpoint: req.url ?? '', id: String(req.headers['webhook-id']), eventAt: Date.parse(body.timestamp), at });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runWebhooks(): Promise<string> {
  const events = envInt('BENCH_WEBHOOK_EVENTS', 1000);
  const spaces = envInt('BENCH_WEBHOOK_SPACES', 50);
  const endpoints = envInt('BENCH_WEBHOOK_ENDPOINTS', 3);
  const pacedEvents = envInt('BENCH_WEBHOOK_PACED_EVENTS', 200);
  const rate = envInt('BENCH_WEBHOOK_RATE', 20);
  const before = loadContext();
  const b = await startBackend({ worker: true, temporalDb: temporalDbFromEnv() });
  const arrivals: Arrival[] = [];
  const receiver = await startReceiver(arrivals);
  const fields: Record<string, number | string> = {};
  try {
    // what `knot worker` runs with, but a loopback receiver may be reached (in place: the running worker holds a shallow copy of deps)
    b.deps.webhooks!.allowPrivateNetworks = true;
    await ensureWebhookDispatcher(b.client, b.taskQueue);
    const store = b.store;
    const t0 = Date.now();
    while ((await store.webhooks.getCursor()) === null) {
      if (Date.now() - t0 > 60_000) throw new Error('the dispatcher did not start');
      await sleep(50);
    }
    const newest = (await store.events.bounds()).newestId ?? 0;
    const epIds: string[] = [];
    for (let i = 0; i < endpoints; i++) {
      const id = `bench-ep-${i}`;
      const secret = newWebhookSecret();
      await store.webhooks.insertEndpoint(
        { id, url: `${receiver.url}/ep${i}`, description: `bench ${i}`, events: ['operation.finished'], enabled: true, secretEncrypted: encryptSecret(secret, BENCH_SETTINGS.encryptKey, webhookSecretAad(id)), createdBy: null, afterEventId: newest },
        Date.now(),
      );
      epIds.push(id);
    }
    const spaceIds = Array.from({ length: spaces }, (_, i) => `bench-space-${i}`);

    const phase = async (name: string, n: number, perSecond: number | null) => {
      const start = arrivals.length;
      const expected = n * endpoints;
      const t1 = Date.now();
      for (let i = 0; i < n; i++) {
        if (perSecond) {
          const due = t1 + (i * 1000) / perSecond;
          if (due > Date.now()) await sleep(due - Date.now());
        }
        await store.events.append({ type: 'operation.finished', spaceId: spaceIds[i % spaces]!, operationId: `${name}-op-${i}` }, Date.now());
      }
      const appendMs = Date.now() - t1;
      const deadline = Date.now() + 600_000;
      while (new Set(arrivals.slice(start).map((a) => a.id)).size < expected) {
        if (Date.now() > deadline) throw new Error(`${name}: ${new Set(arrivals.slice(start).map((a) => a.id)).size} of ${expected} deliveries after 10 min`);
        await sleep(20);
      }
      const got = arrivals.slice(start);
      const firstOf = new Map<string, Arrival>();
      for (const a of got) if (!firstOf.has(a.id)) firstOf.set(a.id, a);
      const lat = summarize([...firstOf.values()].map((a) => a.at - a.eventAt));
      const lastAt = Math.max(...got.map((a) => a.at));
      const perSec = expected / ((lastAt - t1) / 1000);
      note(
        `${name}: ${n} events → ${expected} deliveries (${got.length - expected} repeats) in ${lastAt - t1} ms (appends ${appendMs} ms): ` +
          `${round(perSec)} deliveries/s, event → receiver p50 ${lat.p50} ms, p95 ${lat.p95} ms, p99 ${lat.p99} ms, max ${lat.max} ms`,
      );
      Object.assign(fields, {
        [`${name}_events`]: n,
        [`${name}_deliveries`]: expected,
        [`${name}_repeats`]: got.length - expected,
        [`${name}_append_ms`]: appendMs,
        [`${name}_ms`]: lastAt - t1,
        [`${name}_deliveries_per_s`]: round(perSec),
        [`${name}_p50_ms`]: lat.p50,
        [`${name}_p95_ms`]: lat.p95,
        [`${name}_p99_ms`]: lat.p99,
        [`${name}_max_ms`]: lat.max,
      });
    };

    await phase('burst', events, null);
    if (pacedEvents > 0) await phase('paced', pacedEvents, rate);

    // Temporal's side: the queue workflows' histories (their current runs; a queue continues as new after 200 deliveries)
    let historyEvents = 0;
    let queues = 0;
    let continued = 0;
    for (const ep of epIds) {
      for (const s of spaceIds) {
        const d = await b.client.workflow.getHandle(webhookQueueWorkflowId(ep, s)).describe().catch(() => null);
        if (!d) continue;
        queues++;
        historyEvents += d.historyLength;
        if (d.raw.workflowExecutionInfo?.firstRunId && d.raw.workflowExecutionInfo.firstRunId !== d.runId) continued++;
      }
    }
    const deliveries = arrivals.length === 0 ? 0 : new Set(arrivals.map((a) => a.id)).size;
    const dispatcher = await b.client.workflow.getHandle(webhookDispatcherWorkflowId(b.taskQueue)).describe();
    note(`Temporal: ${queues} queue workflows, ${historyEvents} history events for ${deliveries} deliveries (${round(historyEvents / deliveries, 2)} per delivery), ${continued} continued as new; dispatcher history ${dispatcher.historyLength} events`);
    Object.assign(fields, {
      queue_workflows: queues,
      queue_history_events: historyEvents,
      history_events_per_delivery: round(historyEvents / deliveries, 2),
      queues_continued_as_new: continued,
      dispatcher_history_events: dispatcher.historyLength,
    });
    await b.client.workflow
      .getHandle(webhookDispatcherWorkflowId(b.taskQueue))
      .terminate('bench over')
      .catch(() => undefined);
  } finally {
    await receiver.close();
    await b.close();
  }
  return benchLine('webhooks', { events, spaces, endpoints, paced_rate: rate, ...fields, ...contextFields(temporalDbFromEnv(), before, loadContext()) });
}
