/**
 * Quotas on every store: create (maxSpaces), start and update (computeUnits, storageUnits) over a
 * limit answer 403 quota_exceeded naming quota, usage, request and limit (the error's details, as
 * problem+json extension members), with nothing created in
 * Nomad; group limits vs the user's own; and 20 concurrent starts against 3 free compute units,
 * sent to two API instances (in-process, each with its own LifecycleClient, one store): exactly 3
 * run. The worker, Temporal and the sandbox are real.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NomadClient } from '../../../nomad/client';
import { createLifecycleClient } from '../../../temporal/lifecycle-client';
import { storeKinds } from '../../support/db';
import { startHarness as startBackend, waitForOperation, type Harness as Backend } from '../../support/harness';
import { closeTemporal, seedTemplate, startHarness as startApi, type ApiResponse, type Harness as Api } from './harness';

afterAll(closeTemporal);

const PROBLEM = 'https://knot.dev/problems/quota_exceeded';
/** the compiled CLI: KNOT_TEST_CLI (a build beside dist/), else dist/cli/main.js when built */
const CLI = process.env.KNOT_TEST_CLI ?? path.resolve(__dirname, '../../../dist/cli/main.js');

/** runs the CLI without blocking this process (the API under test lives in it) */
function knot(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

function expectQuotaExceeded(r: ApiResponse, details: { quota: string; usage: number; request: number; limit: number }) {
  expect(r.status).toBe(403);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.type).toBe(PROBLEM);
  // KnotError details are the problem's extension members (api/problem.ts)
  expect(r.body).toMatchObject(details);
}

describe.each(storeKinds())('quotas on %s', (kind) => {
  let backend: Backend;
  let api: Api;
  let api2: Api;
  let nomad: NomadClient;

  beforeAll(async () => {
    backend = await startBackend(kind);
    const config = { KNOT_ENCRYPT: backend.deps.settings.encryptKey };
    api = await startApi(kind, { backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle }, config });
    // a second API replica on the same store, with its own LifecycleClient
    const lifecycle2 = createLifecycleClient(backend.client, backend.store, { taskQueue: backend.taskQueue });
    api2 = await startApi(kind, { backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: lifecycle2 }, config });
    nomad = new NomadClient({ addr: backend.sandbox.url });
    expect((await api.call('POST', '/api/v1/templates', { body: seedTemplate('quota-one', { computeUnits: 1 }) })).status).toBe(201);
  });
  afterAll(async () => {
    await api2?.close();
    await api?.close();
    await backend?.close();
  });

  /** the Nomad jobs of these spaces: the seed job is named `<space>-<owner>` */
  const jobsOf = async (spaceIds: string[]) => {
    const names = new Set<string>();
    for (const id of spaceIds) {
      const s = await backend.store.spaces.get(id);
      const owner = s && (await backend.store.users.get(s.ownerId));
      if (s && owner) names.add(`${s.name}-${owner.username}`);
    }
    return (await nomad.listJobs()).filter((j) => names.has(j.ID));
  };
  const volumesOf = async (spaceIds: string[]) => (await nomad.listCsiVolumes()).filter((v) => spaceIds.some((id) => v.ID.includes(id)));

  async function createSpace(token: string, name: string, template = 'quota-one'): Promise<string> {
    const r = await api.call('POST', '/api/v1/spaces', { token, body: { name, template } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }

  async function startAndWait(token: string, id: string): Promise<void> {
    const r = await api.call('POST', `/api/v1/spaces/${id}/start`, { token });
    expect(r.status).toBe(202);
    const op = await waitForOperation(backend.store, (r.body.operation as { id: string }).id);
    expect(op.status).toBe('succeeded');
  }

  const setUserQuota = (user: string, quota: Record<string, number | null>) => api.call('PATCH', `/api/v1/users/${user}`, { body: { quota } });

  test('create over maxSpaces is refused before anything is written', async () => {
    const { user, token } = await api.user(`${kind}-maxspaces`);
    expect((await setUserQuota(user.username, { maxSpaces: 1 })).status).toBe(200);
    await createSpace(token, 'first');
    const r = await api.call('POST', '/api/v1/spaces', { token, body: { name: 'second', template: 'quota-one' } });
    expectQuotaExceeded(r, { quota: 'maxSpaces', usage: 1, request: 1, limit: 1 });
    expect(await backend.store.spaces.countOwnedBy(user.id, true)).toBe(1);
  });

  test("transfer: the new owner's maxSpaces and storage count, checked before anything moves", async () => {
    const { token } = await api.user(`${kind}-giver`);
    const { user: taker, token: takerToken } = await api.user(`${kind}-taker`);
    const a = await createSpace(token, 'gift');
    // started and stopped once: its volume exists and holds storage
    await startAndWait(token, a);
    const stop = await api.call('POST', `/api/v1/spaces/${a}/stop`, { token });
    expect((await waitForOperation(backend.store, (stop.body.operation as { id: string }).id)).status).toBe('succeeded');
    await createSpace(takerToken, 'own');

    expect((await setUserQuota(taker.username, { maxSpaces: 1 })).status).toBe(200);
    const full = await api.call('POST', `/api/v1/spaces/${a}/transfer`, { token, body: { to: taker.username } });
    expectQuotaExceeded(full, { quota: 'maxSpaces', usage: 1, request: 1, limit: 1 });
    expect(full.body.detail).toContain(taker.username);
    expect((await backend.store.spaces.get(a))?.ownerId).not.toBe(taker.id);

    expect((await setUserQuota(taker.username, { maxSpaces: null, storageUnits: 0 })).status).toBe(200);
    const storage = await api.call('POST', `/api/v1/spaces/${a}/transfer`, { token, body: { to: taker.username } });
    expectQuotaExceeded(storage, { quota: 'storageUnits', usage: 0, request: 1, limit: 0 });

    expect((await setUserQuota(taker.username, { storageUnits: 1 })).status).toBe(200);
    const moved = await api.call('POST', `/api/v1/spaces/${a}/transfer`, { token, body: { to: taker.username } });
    expect(moved.status).toBe(200);
    expect((await backend.store.spaces.get(a))?.ownerId).toBe(taker.id);
  });

  test('start over computeUnits: 403 with the details, no job and no volume in Nomad', async () => {
    const { user, token } = await api.user(`${kind}-compute`);
    expect((await setUserQuota(user.username, { computeUnits: 1 })).body).toMatchObject({ quota: { computeUnits: 1, maxSpaces: null, storageUnits: null } });
    const a = await createSpace(token, 'a');
    const b = await createSpace(token, 'b');
    await startAndWait(token, a);
    const r = await api.call('POST', `/api/v1/spaces/${b}/start`, { token });
    expectQuotaExceeded(r, { quota: 'computeUnits', usage: 1, request: 1, limit: 1 });
    expect(await jobsOf([b])).toEqual([]);
    expect(await volumesOf([b])).toEqual([]);
    expect(await backend.store.operations.listOfSpace(b)).toHaveLength(1); // its create only
    if (kind === 'sqlite' && existsSync(CLI)) {
      // the CLI prints the refusal and exits non-zero
      const env = { ...process.env, KNOT_URL: api.url, KNOT_TOKEN: token, NO_COLOR: '1', XDG_CONFIG_HOME: '/nonexistent' };
      const run = await knot(env, 'space', 'start', 'b');
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('quota exceeded: compute units — 1 in use + 1 requested > limit 1 (set on the user)');
      const usage = await knot(env, 'usage', '--json');
      // (a dist/ built before `knot usage` existed has no such command)
      if (usage.code === 0) expect(JSON.parse(usage.stdout)).toMatchObject({ items: [{ quota: 'maxSpaces', usage: 2 }, { quota: 'computeUnits', usage: 1, limit: 1 }, { quota: 'storageUnits' }] });
    }
    // the shown usage agrees; removing the limit (null) lets it start
    expect((await api.call('GET', '/api/v1/users/me/usage', { token })).body).toMatchObject({
      items: [
        { quota: 'maxSpaces', usage: 2, limit: null },
        { quota: 'computeUnits', usage: 1, limit: 1, source: 'user' },
        { quota: 'storageUnits', usage: 1, limit: null },
      ],
    });
    expect((await setUserQuota(user.username, { computeUnits: null })).status).toBe(200);
    await startAndWait(token, b);
    expect(await jobsOf([a, b])).toHaveLength(2);
  });

  test('start over storageUnits (volumes of 1G count 1 unit): refused, nothing in Nomad', async () => {
    const { user, token } = await api.user(`${kind}-storage`);
    await setUserQuota(user.username, { storageUnits: 0 });
    const a = await createSpace(token, 'a');
    expectQuotaExceeded(await api.call('POST', `/api/v1/spaces/${a}/start`, { token }), { quota: 'storageUnits', usage: 0, request: 1, limit: 0 });
    expect(await jobsOf([a])).toEqual([]);
    expect(await volumesOf([a])).toEqual([]);
  });

  test('update over computeUnits on a running space is refused and the space keeps running', async () => {
    const { user, token } = await api.user(`${kind}-update`);
    expect((await api.call('POST', '/api/v1/templates', { body: seedTemplate(`quota-upd-${kind}`, { computeUnits: 1 }) })).status).toBe(201);
    await setUserQuota(user.username, { computeUnits: 2 });
    const a = await createSpace(token, 'a', `quota-upd-${kind}`);
    await startAndWait(token, a);
    const bigger = await api.call('PUT', `/api/v1/templates/quota-upd-${kind}`, { body: seedTemplate(`quota-upd-${kind}`, { computeUnits: 3 }) });
    expect(bigger.status).toBe(200);
    const r = await api.call('PATCH', `/api/v1/spaces/${a}`, { token, body: { templateVersion: (bigger.body as { version: string }).version } });
    expectQuotaExceeded(r, { quota: 'computeUnits', usage: 1, request: 2, limit: 2 });
    expect((await backend.store.spaces.get(a))?.phase).toBe('running');
  });

  test("the effective limit: the user's own where set, else the most generous group's", async () => {
    const { user, token } = await api.user(`${kind}-groups`);
    for (const [name, computeUnits] of [[`${kind}-g-small`, 2], [`${kind}-g-big`, 5]] as const) {
      expect((await api.call('POST', '/api/v1/groups', { body: { name, members: [user.username] } })).status).toBe(201);
      expect((await api.call('PATCH', `/api/v1/groups/${name}`, { body: { quota: { computeUnits } } })).body).toMatchObject({ quota: { computeUnits } });
    }
    const usage = async () => (await api.call('GET', `/api/v1/users/${user.username}/usage`)).body.items as { quota: string; limit: number | null; source: string | null }[];
    expect((await usage()).find((i) => i.quota === 'computeUnits')).toMatchObject({ limit: 5, source: `group:${kind}-g-big` });
    await setUserQuota(user.username, { computeUnits: 1 });
    expect((await usage()).find((i) => i.quota === 'computeUnits')).toMatchObject({ limit: 1, source: 'user' });
    await setUserQuota(user.username, { computeUnits: null });
    expect((await usage()).find((i) => i.quota === 'computeUnits')).toMatchObject({ limit: 5, source: `group:${kind}-g-big` });
    // a group limit refuses like a user's: 5 spaces of 1 unit run, the sixth is refused
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await createSpace(token, `s${i}`));
    for (const id of ids.slice(0, 5)) await startAndWait(token, id);
    expectQuotaExceeded(await api.call('POST', `/api/v1/spaces/${ids[5]}/start`, { token }), { quota: 'computeUnits', usage: 5, request: 1, limit: 5 });
    // another user cannot read this usage
    const other = await api.user(`${kind}-groups-other`);
    expect((await api.call('GET', `/api/v1/users/${user.username}/usage`, { token: other.token })).status).toBe(404);
  });

  test('20 concurrent starts against 3 free units on two API instances: exactly 3 run', async () => {
    const { user, token } = await api.user(`${kind}-race`);
    await setUserQuota(user.username, { computeUnits: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await createSpace(token, `r${i}`));
    const answers = await Promise.all(ids.map((id, i) => (i % 2 ? api2 : api).call('POST', `/api/v1/spaces/${id}/start`, { token })));
    const accepted = answers.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(3);
    for (const r of answers.filter((x) => x.status !== 202)) expect(r.body).toMatchObject({ type: PROBLEM, quota: 'computeUnits', limit: 3 });
    for (const r of accepted) expect((await waitForOperation(backend.store, (r.body.operation as { id: string }).id)).status).toBe('succeeded');
    expect(await jobsOf(ids)).toHaveLength(3);
    const spaces = await Promise.all(ids.map((id) => backend.store.spaces.get(id)));
    expect(spaces.filter((s) => s?.phase === 'running')).toHaveLength(3);
  });
});
