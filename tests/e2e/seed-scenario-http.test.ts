/**
 * The seed 000 scenario driven purely over HTTP, as a client would: the API, a real worker on the
 * Temporal dev server, the Nomad sandbox, on SQLite and MariaDB. The client polls the space until
 * each phase, never sleeps a fixed time.
 */
import { storeKinds } from '../support/db';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { openApiConformance, type Conformance } from '../support/openapi-conformance';
import { until as waitUntil } from '../support/wait';

async function pollSpace(api: Api, token: string, id: string, until: (body: Record<string, unknown>, status: number) => boolean, timeoutMs = 30_000) {
  let last: Awaited<ReturnType<Api['call']>> | null = null;
  return waitUntil(
    `space ${id} to reach the expected state`,
    async () => {
      last = await api.call('GET', `/api/v1/spaces/${id}`, { token });
      return until(last.body, last.status) ? last : null;
    },
    timeoutMs,
    25,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${last?.status} ${last?.text}`);
  });
}

const phaseOf = (b: Record<string, unknown>) => (b.status as { phase?: string } | undefined)?.phase;
/** the phase is reached and the operation that got it there has finished */
const settledIn = (phase: string) => (b: Record<string, unknown>) =>
  phaseOf(b) === phase && (b.status as { lastOperation?: { status: string } }).lastOperation?.status === 'succeeded';

describe.each(storeKinds())('seed scenario over HTTP on %s', (kind) => {
  let backend: Backend;
  let api: Api;
  const violations: string[] = [];
  let responses = 0;
  beforeAll(async () => {
    backend = await startBackend(kind);
    const raw = await startApi(kind, { backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle }, config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey } });
    const doc = await raw.call('GET', '/api/v1/openapi.json', { token: null });
    const conformance: Conformance = openApiConformance(doc.body);
    // every response of the scenario is checked against the served OpenAPI document
    api = {
      ...raw,
      async call(method, path, opts) {
        const res = await raw.call(method, path, opts);
        responses++;
        violations.push(...conformance.check(method, path, res.status, res.headers.get('content-type'), res.text ? res.body : undefined));
        return res;
      },
    };
  });
  afterAll(async () => {
    await api?.close();
    await backend?.close();
  });

  it('create → start → stop → template change → update → delete, with ownership', async () => {
    const tpl = await api.call('POST', '/api/v1/templates', { body: { name: 'example', description: 'seed 000', job: seedJob(), volumes: seedVolumes() } });
    expect(tpl.status).toBe(201);
    const { token: alice } = await api.user('alice');
    const { token: bob } = await api.user('bob');

    const created = await api.call('POST', '/api/v1/spaces', { token: alice, body: { name: 'mytest', template: 'example' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/spaces/${created.body.id as string}`);
    const id = created.body.id as string;
    expect(phaseOf(created.body)).toBe('stopped');
    expect(backend.sandbox.state().jobs).toHaveLength(0);

    // other users cannot see it
    expect((await api.call('GET', `/api/v1/spaces/${id}`, { token: bob })).status).toBe(404);
    expect((await api.call('POST', `/api/v1/spaces/${id}/start`, { token: bob })).status).toBe(404);

    const start = await api.call('POST', `/api/v1/spaces/${id}/start`, { token: alice });
    expect(start.status).toBe(202);
    const opUrl = start.headers.get('location')!;
    expect(opUrl).toMatch(/^\/api\/v1\/operations\//);
    const running = await pollSpace(api, alice, id, settledIn('running'));
    const status = running.body.status as Record<string, unknown>;
    expect(status.nomadJobId).toBe('mytest-alice');
    expect(status.appliedVersion).toBe('1.0.0');
    expect((await api.call('GET', opUrl, { token: alice })).body).toMatchObject({ type: 'start', status: 'succeeded' });
    expect(backend.sandbox.state().jobs.map((j) => j.ID)).toContain('mytest-alice');
    expect(backend.sandbox.state().csiVolumes.map((v) => v.ID)).toEqual([`debian_${id}_home`]);

    // a second lifecycle request while one runs names the running operation
    const stop = await api.call('POST', `/api/v1/spaces/${id}/stop`, { token: alice });
    expect(stop.status).toBe(202);
    const clash = await api.call('POST', `/api/v1/spaces/${id}/start`, { token: alice });
    if (clash.status === 409) {
      expect(clash.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(clash.text).toContain((stop.body.operation as { id: string }).id);
    }
    await pollSpace(api, alice, id, settledIn('stopped'));
    expect(backend.sandbox.state().jobs.map((j) => j.ID)).not.toContain('mytest-alice');
    expect(backend.sandbox.state().csiVolumes.map((v) => v.ID)).toEqual([`debian_${id}_home`]);

    // the template gains a volume and loses one
    const newVolumes = seedVolumes().replace(/_home/g, '_data');
    const put = await api.call('PUT', '/api/v1/templates/example', { body: { name: 'example', description: 'seed 000', job: seedJob().replace('_home"', '_data"'), volumes: newVolumes } });
    expect(put.status).toBe(200);
    const stale = await api.call('GET', `/api/v1/spaces/${id}`, { token: alice });
    expect((stale.body.status as { updateAvailable: boolean }).updateAvailable).toBe(true);

    expect((await api.call('POST', `/api/v1/spaces/${id}/start`, { token: alice })).status).toBe(202);
    const updated = await pollSpace(api, alice, id, settledIn('running'));
    expect((updated.body.status as { updateAvailable: boolean; appliedVersion: string }).updateAvailable).toBe(false);
    expect(backend.sandbox.state().csiVolumes.map((v) => v.ID).filter((v) => v.includes(id))).toEqual([`debian_${id}_data`]);

    const refused = await api.call('DELETE', `/api/v1/spaces/${id}`, { token: alice });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);

    expect((await api.call('POST', `/api/v1/spaces/${id}/stop`, { token: alice })).status).toBe(202);
    await pollSpace(api, alice, id, settledIn('stopped'));
    const del = await api.call('DELETE', `/api/v1/spaces/${id}`, { token: alice });
    expect(del.status).toBe(202);
    await pollSpace(api, alice, id, (_b, s) => s === 404);
    const state = backend.sandbox.state();
    expect(state.jobs.filter((j) => j.Meta?.knot_space_id === id)).toHaveLength(0);
    expect(state.csiVolumes.filter((v) => v.ID.includes(id))).toHaveLength(0);
    // the name is free again
    expect((await api.call('POST', '/api/v1/spaces', { token: alice, body: { name: 'mytest', template: 'example' } })).status).toBe(201);
    expect(responses).toBeGreaterThan(20);
    expect(violations).toEqual([]);
  });
});
