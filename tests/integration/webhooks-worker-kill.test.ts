/**
 * Lifecycle webhooks survive a crashed worker: a real `knot worker` child process runs the
 * dispatcher and the queue workflows; the receiver on loopback holds the first request open, the
 * worker is SIGKILLed while it waits for the answer, more events are appended while no worker
 * runs, and a new worker delivers everything. The receiver sees every event; a repeat carries the
 * same `webhook-id` (and body), and after de-duplicating on it there is exactly one per event, in
 * order per space. `server.webhooks.heartbeat_timeout` (2 s here) bounds how long the dead
 * worker's dispatcher and its in-flight attempt are waited for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { encryptSecret } from '../../core/crypto';
import { newId } from '../../core/names';
import { webhookDispatcherWorkflowId, webhookQueueWorkflowId } from '../../core/webhook-queue';
import { newWebhookSecret, webhookSecretAad } from '../../core/webhooks';
import { startHarness, testSettings, type Harness } from '../support/harness';
import { until } from '../support/wait';
import { workerProcess, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(180_000);

interface Received {
  id: string;
  headers: Record<string, string>;
  body: string;
  answered: boolean;
}

/** Records every request; the first one is held open (never answered) until the test lets go. */
class HoldingReceiver {
  received: Received[] = [];
  private server: http.Server | null = null;
  private heldRes: http.ServerResponse | null = null;
  private onHeld: (() => void) | null = null;
  readonly held = new Promise<void>((r) => (this.onHeld = r));
  heldClosed = false;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      // only deliveries: another test's agent probing listening ports (HEAD /) is not one
      if (req.method !== 'POST' || req.url !== '/kill') {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const r: Received = { id: headers['webhook-id'] ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), answered: false };
        this.received.push(r);
        if (this.received.length === 1) {
          // the first attempt: no answer, the worker dies waiting for it
          this.heldRes = res;
          res.on('close', () => (this.heldClosed = true));
          this.onHeld?.();
          return;
        }
        r.answered = true;
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.heldRes?.destroy();
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
}

interface Body {
  type: string;
  data: { eventId: number; space: { id: string }; operation: { id: string } };
}

describe('lifecycle webhooks through a worker SIGKILL (sqlite, real Temporal, `knot worker` child)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  const receiver = new HoldingReceiver();
  const spaces = ['space-k1', 'space-k2'];
  const endpointId = newId(Date.now());
  const secret = newWebhookSecret();

  beforeAll(async () => {
    await receiver.start();
    h = await startHarness('sqlite', { startWorker: false });
    worker = workerProcess({
      taskQueue: h.taskQueue,
      temporalAddress: process.env.KNOT_TEST_TEMPORAL_ADDRESS!,
      nomadAddr: h.sandbox.url,
      storeEnv: h.testStore.env,
      encryptKey: testSettings.encryptKey,
      nomadTimeout: '3s',
      extraEnv: {
        KNOT_SERVER_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
        KNOT_SERVER_WEBHOOKS_RETRY_INITIAL: '200ms',
        KNOT_SERVER_WEBHOOKS_RETRY_FOR: '5m',
        // far longer than the test: only the kill ends the held attempt
        KNOT_SERVER_WEBHOOKS_ATTEMPT_TIMEOUT: '60s',
        KNOT_SERVER_WEBHOOKS_HEARTBEAT_TIMEOUT: '2s',
      },
    });
  });

  afterAll(async () => {
    for (const id of [webhookDispatcherWorkflowId(h.taskQueue), ...spaces.map((s) => webhookQueueWorkflowId(endpointId, s))]) {
      await h.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    await worker?.stop();
    await h?.close();
    await receiver.stop();
  });

  it('delivers every event once the worker is back; repeats share the webhook-id; one per event after de-duplication, in order per space', async () => {
    const newest = (await h.store.events.bounds()).newestId ?? 0;
    const now = Date.now();
    await h.store.webhooks.insertEndpoint(
      {
        id: endpointId,
        url: receiver.url('/kill'),
        description: 'worker kill',
        events: ['operation.finished'],
        enabled: true,
        secretEncrypted: encryptSecret(secret, testSettings.encryptKey, webhookSecretAad(endpointId)),
        createdBy: null,
        afterEventId: newest,
      },
      now,
    );

    await worker.start();
    // the dispatcher's first run sets its cursor at the log's end: events before that are not subscribed to
    await until('the dispatcher cursor', async () => (await h.store.webhooks.getCursor()) !== null, 30_000);

    const appended: Record<string, string[]> = {};
    const append = async (batch: string) => {
      for (let i = 0; i < 4; i++) {
        for (const s of spaces) {
          const op = `op-${s}-${batch}${i}`;
          await h.store.events.append({ type: 'operation.finished', spaceId: s, operationId: op }, Date.now());
          (appended[s] ??= []).push(op);
        }
      }
    };
    await append('a');

    // the first attempt reached the receiver and waits for its answer: the kill lands mid-delivery
    await receiver.held;
    const heldId = receiver.received[0]!.id;
    await worker.kill();
    await until('the held connection closed by the dead worker', () => receiver.heldClosed, 10_000);
    const beforeRestart = receiver.received.length;

    // no worker runs: these wait in the log for the next dispatcher
    await append('b');
    await worker.start();

    const expected = spaces.flatMap((s) => appended[s]!);
    const distinct = () => new Set(receiver.received.filter((r) => r.answered).map((r) => r.id));
    await until(`${expected.length} distinct answered deliveries (have ${distinct().size})`, () => distinct().size >= expected.length, 60_000);
    // and the store says so
    await until(
      'every delivery recorded as delivered',
      async () => {
        const page = await h.store.webhooks.listDeliveries(endpointId, { limit: 100 });
        return page.length === expected.length && page.every((d) => d.status === 'delivered');
      },
      20_000,
    );

    expect(worker.starts).toBe(2);
    expect(beforeRestart).toBeLessThan(receiver.received.length);
    const got = receiver.received;
    const wh = new Webhook(secret);
    const byId = new Map<string, string>();
    for (const r of got) {
      expect(() => wh.verify(r.body, r.headers)).not.toThrow();
      // a repeat carries the same id and the same body: receivers de-duplicate on it
      if (byId.has(r.id)) expect(r.body).toBe(byId.get(r.id));
      byId.set(r.id, r.body);
    }
    // the held event was sent again (same id), and answered this time
    expect(got.filter((r) => r.id === heldId).length).toBeGreaterThanOrEqual(2);
    expect(got.some((r) => r.id === heldId && r.answered)).toBe(true);

    // after de-duplication: exactly one per event, no other
    const ops = [...byId.values()].map((b) => (JSON.parse(b) as Body).data.operation.id);
    expect(ops.sort()).toEqual([...expected].sort());
    expect(byId.size).toBe(expected.length);

    // in order per space: the first time each id was seen follows the order the events were appended
    for (const s of spaces) {
      const firstSeen: string[] = [];
      for (const r of got) {
        const b = JSON.parse(r.body) as Body;
        if (b.data.space.id === s && !firstSeen.includes(b.data.operation.id)) firstSeen.push(b.data.operation.id);
      }
      expect(firstSeen).toEqual(appended[s]);
    }
  });
});
