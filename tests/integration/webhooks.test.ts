/**
 * Lifecycle webhooks end to end: the API registers endpoints, a real worker on the shared Temporal
 * dev server runs the dispatcher and the queue workflows, and a real HTTP receiver on loopback
 * (server.webhooks.allow_private_networks on) checks signatures with the `standardwebhooks`
 * package. Events come from real lifecycle operations and, for volume and ordering, from the event
 * log itself (as the activities append them).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { newId } from '../../core/names';
import { ensureWebhookDispatcher } from '../../temporal/webhook-client';
import { webhookDispatcherWorkflowId } from '../../core/webhook-queue';
import { KnotApiError } from '../../client';
import { seedJob, seedTemplate, seedUser, seedVolumes, startHarness as startBackend, waitForOperation, type Harness as Backend } from '../support/harness';
import { closeTemporal, startHarness as startApi, type Harness as Api } from './api/harness';
import { until } from '../support/wait';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A receiver that can go away (connections refused) and come back on the same port. */
class Receiver {
  received: Received[] = [];
  status = 200;
  private server: http.Server | null = null;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      // only deliveries: another test's agent probing listening ports (HEAD /) is not one
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const status = req.url?.startsWith('/fail') ? 500 : this.status;
        if (status === 200) this.received.push({ path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'x'.repeat(10_000));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }
}

const types = (rs: Received[]) => rs.map((r) => (JSON.parse(r.body) as { type: string }).type);

describe('lifecycle webhooks (sqlite, real Temporal)', () => {
  let backend: Backend;
  let api: Api;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    backend = await startBackend('sqlite', { startWorker: false });
    backend.deps.webhooks = {
      ...(backend.deps.webhooks as NonNullable<Backend['deps']['webhooks']>),
      allowPrivateNetworks: true,
      retry: { initialMs: 200, maxIntervalMs: 1000, forMs: 20_000, attemptTimeoutMs: 2000 },
      disableAfterMs: 6000,
      gapGraceMs: 500,
    };
    await backend.startWorker();
    await ensureWebhookDispatcher(backend.client, backend.taskQueue, { pollMs: 50, heartbeatTimeoutMs: 5000 });
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_SERVER_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
  });

  afterAll(async () => {
    await backend.client.workflow
      .getHandle(webhookDispatcherWorkflowId(backend.taskQueue))
      .terminate('test over')
      .catch(() => undefined);
    await api?.close();
    await backend?.close();
    await receiver.stop();
    await closeTemporal();
  });

  it('sends signed lifecycle events of a real space, and a test event; the secret is shown once', async () => {
    const created = await api.client.createWebhook({ url: receiver.url('/life'), events: ['space.created', 'space.started', 'operation.finished'], description: 'ci' });
    expect(created.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await api.client.getWebhook(created.id))).not.toContain(created.secret);
    expect(JSON.stringify(await api.client.listWebhooks())).not.toContain(created.secret);
    expect(await backend.testStore.rawDump()).not.toContain(created.secret.slice(6));

    const owner = await seedUser(backend.store, 'hookowner');
    const tpl = await seedTemplate(backend.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const { space } = await backend.lifecycle.createSpace(
      { spaceId: newId(Date.now()), name: 'hooked', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id },
      owner.username,
      'debian',
    );
    const op = await backend.lifecycle.startOperation({ spaceId: space.id, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
    expect((await waitForOperation(backend.store, op.id)).status).toBe('succeeded');

    const got = await until('4 lifecycle deliveries', () => (receiver.at('/life').length >= 4 ? receiver.at('/life') : null), 30_000);
    const wh = new Webhook(created.secret);
    for (const r of got) expect(() => wh.verify(r.body, r.headers)).not.toThrow();
    expect(() => new Webhook('whsec_' + Buffer.alloc(24, 1).toString('base64')).verify(got[0]!.body, got[0]!.headers)).toThrow();
    expect(types(got)).toEqual(['operation.finished', 'space.created', 'operation.finished', 'space.started']);
    const started = JSON.parse(got[3]!.body) as { data: Record<string, unknown> };
    expect(started.data).toMatchObject({
      space: { id: space.id, name: 'hooked' },
      owner: { id: owner.id, username: 'hookowner' },
      template: { id: tpl.id, name: 'debian' },
      operation: { id: op.id, type: 'start', status: 'succeeded', error: null },
    });

    const test = await api.client.testWebhook(created.id);
    await until('the test event', () => receiver.at('/life').find((r) => r.headers['webhook-id'] === test.id));
    await until('the delivery recorded', async () => (await api.client.listWebhookDeliveries(created.id)).items.find((d) => d.id === test.id && d.status === 'delivered'));
    const page = await api.client.listWebhookDeliveries(created.id);
    expect(page.items.find((d) => d.id === test.id)).toMatchObject({ status: 'delivered', attempts: 1, lastResponse: { statusCode: 200, body: 'thanks', error: null } });
    await api.client.deleteWebhook(created.id);
  });

  it('keeps each space in order through a receiver outage, one webhook-id per event', async () => {
    const ep = await api.client.createWebhook({ url: receiver.url('/order'), events: ['operation.finished'] });
    const spaces = ['space-a', 'space-b', 'space-c'];
    await receiver.stop();
    const appended: Record<string, number[]> = {};
    for (let i = 0; i < 10; i++) {
      for (const s of spaces) {
        await backend.store.events.append({ type: 'operation.finished', spaceId: s, operationId: `op-${s}-${i}` }, Date.now());
        (appended[s] ??= []).push(i);
      }
    }
    // the receiver is down: attempts fail and are recorded
    await until('failed attempts recorded', async () => (await api.client.listWebhookDeliveries(ep.id)).items.some((d) => d.attempts >= 2 && d.lastResponse?.error), 20_000);
    await receiver.start();
    await until('30 distinct deliveries', () => new Set(receiver.at('/order').map((r) => r.headers['webhook-id'])).size >= 30, 30_000);

    const got = receiver.at('/order');
    const byId = new Map<string, string>();
    for (const r of got) {
      const id = r.headers['webhook-id'] as string;
      // a repeat carries the same id and the same body: receivers de-duplicate on it
      if (byId.has(id)) expect(byId.get(id)).toBe(r.body);
      byId.set(id, r.body);
    }
    expect(byId.size).toBe(30);
    for (const s of spaces) {
      const firstSeen: string[] = [];
      for (const r of got) {
        const b = JSON.parse(r.body) as { data: { space: { id: string }; operation: { id: string } } };
        if (b.data.space.id === s && !firstSeen.includes(b.data.operation.id)) firstSeen.push(b.data.operation.id);
      }
      expect(firstSeen).toEqual(appended[s]!.map((i) => `op-${s}-${i}`));
    }
    await api.client.deleteWebhook(ep.id);
  });

  it('fails a delivery out of time, disables an endpoint failing too long (audited), redelivers with the same id', async () => {
    const ep = await api.client.createWebhook({ url: receiver.url('/fail'), events: ['operation.finished'] });
    await backend.store.events.append({ type: 'operation.finished', spaceId: 'space-f', operationId: `op-f-${Date.now()}` }, Date.now());

    const failed = await until('the delivery failed', async () => (await api.client.listWebhookDeliveries(ep.id)).items.find((d) => d.status === 'failed'), 40_000);
    expect(failed.attempts).toBeGreaterThanOrEqual(2);
    expect(failed.lastResponse?.statusCode).toBe(500);
    expect(failed.lastResponse?.body?.length).toBeLessThanOrEqual(512);
    const disabled = await api.client.getWebhook(ep.id);
    expect(disabled.enabled).toBe(false);
    expect(disabled.disabledReason).toMatch(/failing since/);
    const audit = await api.client.listAudit({ action: 'webhook.disable', resourceId: ep.id });
    expect(audit.items).toHaveLength(1);

    // redeliver refuses while disabled; enabled and pointed at a working path, it delivers with the same id
    await expect(api.client.redeliverWebhook(ep.id, failed.id)).rejects.toMatchObject({ status: 409 });
    await api.client.updateWebhook(ep.id, { enabled: true, url: receiver.url('/fixed') });
    const again = await api.client.redeliverWebhook(ep.id, failed.id);
    expect(again.status).toBe('pending');
    const r = await until('the redelivery', () => receiver.at('/fixed').find((x) => x.headers['webhook-id'] === failed.id), 20_000);
    expect(JSON.parse(r.body)).toMatchObject({ type: 'operation.finished' });
    await until('delivered', async () => (await api.client.listWebhookDeliveries(ep.id)).items.find((d) => d.id === failed.id && d.status === 'delivered'));
  });

  it('validates input: private and loopback URLs with private networks off (400 naming url), unknown event types; admins only (403 a user, 401 a stranger)', async () => {
    const strict = await startApi('sqlite');
    try {
      for (const url of ['http://127.0.0.1:9/x', 'http://[::1]/x', 'http://169.254.169.254/latest', 'http://10.1.2.3/', 'http://localhost:80/', 'ftp://example.com/']) {
        const e = await strict.client.createWebhook({ url, events: ['space.started'] }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(KnotApiError);
        expect(e).toMatchObject({ status: 400 });
        expect((e as KnotApiError).errors.map((x) => x.path)).toContain('url');
      }
      const bad = await strict.call('POST', '/api/v1/webhooks', { body: { url: 'https://example.com/', events: ['space.exploded'] } });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('events');
      expect((await strict.client.listWebhooks()).items).toHaveLength(0);

      // admins only: a user gets 403, a stranger 401, on every webhook route; nothing is created
      const { token } = await strict.user('not-an-admin');
      const ep = await strict.client.createWebhook({ url: 'https://example.com/hook', events: ['space.started'] });
      const routes: [string, string, unknown?][] = [
        ['GET', '/api/v1/webhooks'],
        ['POST', '/api/v1/webhooks', { url: 'https://example.com/other', events: ['space.started'] }],
        ['GET', `/api/v1/webhooks/${ep.id}`],
        ['PATCH', `/api/v1/webhooks/${ep.id}`, { enabled: false }],
        ['DELETE', `/api/v1/webhooks/${ep.id}`],
        ['GET', `/api/v1/webhooks/${ep.id}/deliveries`],
        ['POST', `/api/v1/webhooks/${ep.id}/test`],
      ];
      for (const [method, path, body] of routes) {
        expect([method, path, (await strict.call(method, path, { token, ...(body ? { body } : {}) })).status]).toEqual([method, path, 403]);
        expect([method, path, (await strict.call(method, path, { token: null, ...(body ? { body } : {}) })).status]).toEqual([method, path, 401]);
      }
      expect((await strict.client.listWebhooks()).items.map((w) => [w.id, w.enabled])).toEqual([[ep.id, true]]);
    } finally {
      await strict.close();
    }
  });
});
