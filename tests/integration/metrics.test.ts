/**
 * /metrics after a real lifecycle: API (HTTP) + worker on the Temporal dev server + Nomad sandbox
 * sharing one registry, as `knot dev` runs them. create → start → stop over the API, then a scrape:
 * operations, step durations, Nomad calls by route pattern, API requests by route pattern moved,
 * with bounded labels only; the optional bearer token and the worker's own listener too.
 */
import { KnotMetrics } from '../../metrics/metrics';
import { startMetricsServer } from '../../metrics/server';
import { NomadClient } from '../../nomad/client';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { closeTemporal, startHarness as startApi, type Harness as Api } from './api/harness';

afterAll(closeTemporal);

/** Values of the samples of one metric whose labels include `labels`. */
function samples(text: string, name: string, labels: Record<string, string> = {}): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) out.push(Number(m[3]));
  }
  return out;
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function pollPhase(api: Api, id: string, phase: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api.call('GET', `/api/v1/spaces/${id}`);
    const status = r.body.status as { phase?: string; lastOperation?: { status: string } } | undefined;
    if (status?.phase === phase && status.lastOperation?.status === 'succeeded') return;
    if (Date.now() > deadline) throw new Error(`space ${id} did not reach ${phase}: ${r.text}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe('GET /metrics after a lifecycle', () => {
  let backend: Backend;
  let api: Api;
  const metrics = new KnotMetrics();

  beforeAll(async () => {
    backend = await startBackend('sqlite', { startWorker: false });
    backend.deps.metrics = metrics;
    backend.deps.nomad = new NomadClient({ addr: backend.sandbox.url, timeoutMs: 3000, onResponse: metrics.recordNomadCall });
    await backend.startWorker();
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey, KNOT_SERVER_METRICS_TOKEN: 'scrape-token-0123456789' },
      metrics,
    });
  });
  afterAll(async () => {
    await api?.close();
    await backend?.close();
  });

  it('counts operations, steps, Nomad calls and API requests with bounded labels', async () => {
    expect((await api.call('POST', '/api/v1/templates', { body: { name: 'example', description: 'seed 000', job: seedJob(), volumes: seedVolumes() } })).status).toBe(201);
    const created = await api.call('POST', '/api/v1/spaces', { body: { name: 'metered', template: 'example' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api.call('POST', `/api/v1/spaces/${id}/start`)).status).toBe(202);
    await pollPhase(api, id, 'running');
    expect((await api.call('POST', `/api/v1/spaces/${id}/stop`)).status).toBe(202);
    await pollPhase(api, id, 'stopped');

    // the token is required once configured; the admin's API token is not it
    expect((await api.call('GET', '/metrics', { token: null })).status).toBe(401);
    expect((await api.call('GET', '/metrics')).status).toBe(401);
    const scrape = await api.call('GET', '/metrics', { token: 'scrape-token-0123456789' });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = scrape.text;

    for (const type of ['create', 'start', 'stop']) {
      expect([type, sum(samples(text, 'knot_operations_started_total', { type }))]).toEqual([type, 1]);
      expect([type, sum(samples(text, 'knot_operations_finished_total', { type, outcome: 'succeeded' }))]).toEqual([type, 1]);
      expect([type, sum(samples(text, 'knot_operation_duration_seconds_count', { type, outcome: 'succeeded' }))]).toEqual([type, 1]);
    }
    expect(sum(samples(text, 'knot_operation_duration_seconds_sum', { type: 'start' }))).toBeGreaterThan(0);
    // steps: the start workflow registered the job through an activity
    expect(sum(samples(text, 'knot_step_duration_seconds_count', { activity: 'beginOperation', outcome: 'ok' }))).toBeGreaterThanOrEqual(3);
    const stepNames = new Set([...text.matchAll(/^knot_step_duration_seconds_count\{activity="([^"]+)"/gm)].map((m) => m[1]));
    expect(stepNames.size).toBeGreaterThan(4);

    // Nomad calls by route pattern: the job was registered, read by id and deregistered
    expect(sum(samples(text, 'knot_nomad_requests_total', { method: 'PUT', route: '/v1/jobs', status: '200' }))).toBeGreaterThanOrEqual(1);
    expect(sum(samples(text, 'knot_nomad_requests_total', { method: 'DELETE', route: '/v1/job/:id', status: '200' }))).toBeGreaterThanOrEqual(1);
    expect(sum(samples(text, 'knot_nomad_requests_total', { method: 'GET', route: '/v1/job/:id/allocations' }))).toBeGreaterThanOrEqual(1);
    expect(sum(samples(text, 'knot_nomad_request_duration_seconds_count', { route: '/v1/volume/csi/:id/create' }))).toBeGreaterThanOrEqual(1);

    // API requests by route pattern and status
    expect(sum(samples(text, 'knot_http_requests_total', { method: 'POST', route: '/api/v1/spaces', status: '201' }))).toBe(1);
    expect(sum(samples(text, 'knot_http_requests_total', { method: 'POST', route: '/api/v1/spaces/:id/start', status: '202' }))).toBe(1);
    expect(sum(samples(text, 'knot_http_requests_total', { method: 'GET', route: '/api/v1/spaces/:id', status: '200' }))).toBeGreaterThanOrEqual(2);
    expect(sum(samples(text, 'knot_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }))).toBe(2);
    expect(sum(samples(text, 'knot_http_request_duration_seconds_count', { route: '/api/v1/templates' }))).toBe(1);

    // no event stream yet: the gauge is there, at 0
    expect(samples(text, 'knot_event_stream_clients')).toEqual([0]);

    // no unbounded label values: neither the space id, its name, the job id nor a token
    for (const secret of [id, 'metered', 'metered-admin', api.adminToken, 'scrape-token']) expect([secret, text.includes(secret)]).toEqual([secret, false]);
  });

  it('the event-stream hook moves the gauge once per client', async () => {
    const leave = metrics.eventStreamClientConnected();
    const leave2 = metrics.eventStreamClientConnected();
    const during = await api.call('GET', '/metrics', { token: 'scrape-token-0123456789' });
    expect(samples(during.text, 'knot_event_stream_clients')).toEqual([2]);
    leave();
    leave();
    leave2();
    const after = await api.call('GET', '/metrics', { token: 'scrape-token-0123456789' });
    expect(samples(after.text, 'knot_event_stream_clients')).toEqual([0]);
  });

  it('a worker process serves the same registry on its own listener (server.metrics.worker_listen)', async () => {
    const served = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 }, 'worker-token-0123');
    try {
      expect((await fetch(served.url)).status).toBe(401);
      const res = await fetch(served.url, { headers: { authorization: 'Bearer worker-token-0123' } });
      expect(res.status).toBe(200);
      expect(sum(samples(await res.text(), 'knot_operations_finished_total', { type: 'start', outcome: 'succeeded' }))).toBe(1);
      expect((await fetch(served.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await served.close();
    }
  });
});

describe('GET /metrics switched off', () => {
  it('answers 404 with server.metrics.enabled false', async () => {
    const api = await startApi('sqlite', { config: { KNOT_SERVER_METRICS_ENABLED: 'false' } });
    try {
      const r = await api.call('GET', '/metrics', { token: null });
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    } finally {
      await api.close();
    }
  });
});
