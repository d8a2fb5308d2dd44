/**
 * The sandbox answers the way a real Nomad 1.6.5 agent was seen to answer (tests/nomad/
 * differential.test.ts compares them probe by probe; docs/nomad-sandbox-differences.md lists what
 * is left). Each case here failed on the sandbox before it was made to follow Nomad.
 */
import { startSandbox, type Sandbox, type SandboxOptions } from '../../../nomad/sandbox';
import type { AllocListStub, Allocation, CsiVolume, Evaluation, Job } from '../../../nomad/types';
import { FAST, waitFor } from './helpers';

const sandboxes: Sandbox[] = [];
async function sandboxWith(opts: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ ...FAST, ...opts });
  sandboxes.push(s);
  return s;
}
afterAll(async () => {
  for (const s of sandboxes) await s.close();
});

async function call(s: Sandbox, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: unknown; type: string | null }> {
  const res = await fetch(`${s.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, type: res.headers.get('content-type') };
}

function job(id: string, opts: { type?: string; count?: number; memory?: number; driver?: string; namespace?: string; groups?: unknown[]; csi?: string; update?: object } = {}): Record<string, unknown> {
  const task = { Name: 't', Driver: opts.driver ?? 'exec', Config: { command: '/bin/sleep' }, Resources: { CPU: 100, MemoryMB: opts.memory ?? 64 } };
  return {
    ID: id,
    Type: opts.type ?? 'service',
    Datacenters: ['dc1'],
    ...(opts.namespace ? { Namespace: opts.namespace } : {}),
    ...(opts.update ? { Update: opts.update } : {}),
    TaskGroups: opts.groups ?? [
      {
        Name: 'g',
        Count: opts.count ?? 1,
        Tasks: [opts.csi ? { ...task, VolumeMounts: [{ Volume: 'home', Destination: '/home' }] } : task],
        ...(opts.csi ? { Volumes: { home: { Name: 'home', Type: 'csi', Source: opts.csi, AccessMode: 'single-node-writer', AttachmentMode: 'file-system' } } } : {}),
      },
    ],
  };
}

const csiCreate = (s: Sandbox, id: string): ReturnType<typeof call> =>
  call(s, 'PUT', `/v1/volume/csi/${id}/create`, {
    Volumes: [{ ID: id, Name: id, PluginID: 'hostpath', RequestedCapabilities: [{ AccessMode: 'single-node-writer', AttachmentMode: 'file-system' }] }],
  });
const allocs = async (s: Sandbox, jobId: string, query = ''): Promise<AllocListStub[]> => (await call(s, 'GET', `/v1/job/${jobId}/allocations${query}`)).json as AllocListStub[];

describe('register validation (500, go-multierror text)', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = await sandboxWith();
  });
  const cases: [string, Record<string, unknown>, string][] = [
    ['no task groups', job('x', { groups: [] }), '1 error occurred:\n\t* Missing job task groups\n\n'],
    ['count -1', job('x', { count: -1 }), "1 error occurred:\n\t* Task group g validation failed: 1 error occurred:\n\t* Task group count can't be negative\n\n\n\n"],
    [
      'memory 5',
      job('x', { memory: 5 }),
      '1 error occurred:\n\t* Task group g validation failed: 1 error occurred:\n\t* Task t validation failed: 1 error occurred:\n\t* 1 error occurred:\n\t* 1 error occurred:\n\t* minimum MemoryMB value is 10; got 5\n\n\n\n\n\n\n\n\n\n',
    ],
    [
      'count -1 and memory 5',
      job('x', { count: -1, memory: 5 }),
      "1 error occurred:\n\t* Task group g validation failed: 2 errors occurred:\n\t* Task group count can't be negative\n\t* Task t validation failed: 1 error occurred:\n\t* 1 error occurred:\n\t* 1 error occurred:\n\t* minimum MemoryMB value is 10; got 5\n\n\n\n\n\n\n\n\n\n",
    ],
    ['unknown namespace', job('x', { namespace: 'nope' }), '1 error occurred:\n\t* job "x" is in nonexistent namespace "nope"\n\n'],
    ['unknown namespace and no groups', job('x', { namespace: 'nope', groups: [] }), '2 errors occurred:\n\t* job "x" is in nonexistent namespace "nope"\n\t* Missing job task groups\n\n'],
  ];
  it.each(cases)('%s', async (_name, body, text) => {
    expect(await call(s, 'PUT', '/v1/jobs', { Job: body })).toMatchObject({ status: 500, text });
    expect(await call(s, 'GET', '/v1/jobs')).toMatchObject({ json: [] });
  });
  it('refuses a namespace given in the query too', async () => {
    expect(await call(s, 'PUT', '/v1/jobs?namespace=nope', { Job: job('y') })).toMatchObject({ status: 500, text: '1 error occurred:\n\t* job "y" is in nonexistent namespace "nope"\n\n' });
    const other = await sandboxWith({ namespaces: ['default', 'nope'] });
    expect((await call(other, 'PUT', '/v1/jobs?namespace=nope', { Job: job('y') })).status).toBe(200);
  });
});

describe('update blocks', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = await sandboxWith();
  });
  const zero = { Stagger: 0, MaxParallel: 0, HealthCheck: '', MinHealthyTime: 0, HealthyDeadline: 0, ProgressDeadline: 0, Canary: 0, AutoRevert: false, AutoPromote: false };
  const groupDefault = { Stagger: 30e9, MaxParallel: 1, HealthCheck: 'checks', MinHealthyTime: 10e9, HealthyDeadline: 300e9, ProgressDeadline: 600e9, Canary: 0, AutoRevert: false, AutoPromote: false };

  it('gives every job a zero-valued job-level block and service groups the full default', async () => {
    await call(s, 'PUT', '/v1/jobs', { Job: job('svc') });
    await call(s, 'PUT', '/v1/jobs', { Job: job('bat', { type: 'batch' }) });
    const svc = (await call(s, 'GET', '/v1/job/svc')).json as Job;
    const bat = (await call(s, 'GET', '/v1/job/bat')).json as Job;
    expect(svc.Update).toEqual({ ...zero, Stagger: 30e9, MaxParallel: 1 });
    expect(svc.TaskGroups?.[0]?.Update).toEqual(groupDefault);
    expect(bat.Update).toEqual(zero);
    expect(bat.TaskGroups?.[0]?.Update).toBeNull();
  });

  it('moves a job-level update block into the service groups, keeping only the legacy fields on the job', async () => {
    await call(s, 'PUT', '/v1/jobs', { Job: job('svc2', { update: { MaxParallel: 2, MinHealthyTime: 5e9 } }) });
    const svc = (await call(s, 'GET', '/v1/job/svc2')).json as Job;
    expect(svc.Update).toEqual({ ...zero, Stagger: 30e9, MaxParallel: 2 });
    expect(svc.TaskGroups?.[0]?.Update).toEqual({ ...groupDefault, MaxParallel: 2, MinHealthyTime: 5e9 });
  });

  it('never gives batch allocations a deployment health', async () => {
    await call(s, 'PUT', '/v1/jobs', { Job: job('bat2', { type: 'batch' }) });
    const [running] = await waitFor(() => allocs(s, 'bat2'), (l) => l[0]?.ClientStatus === 'running');
    await new Promise((r) => setTimeout(r, (FAST.healthyDelayMs ?? 0) * 5));
    expect(((await call(s, 'GET', `/v1/allocation/${running?.ID}`)).json as Allocation).DeploymentStatus ?? null).toBeNull();
  });
});

describe('allocation lists of purged incarnations', () => {
  it('lists the current incarnation only, every one with all=true, and the leftovers after a purge', async () => {
    const s = await sandboxWith();
    await call(s, 'PUT', '/v1/jobs', { Job: job('again', { type: 'batch' }) });
    await waitFor(() => allocs(s, 'again'), (l) => l[0]?.ClientStatus === 'running');
    await call(s, 'DELETE', '/v1/job/again?purge=true');
    const leftovers = await waitFor(() => allocs(s, 'again'), (l) => l.length === 1 && l[0]?.ClientStatus === 'complete');
    await call(s, 'PUT', '/v1/jobs', { Job: job('again', { type: 'batch' }) });
    const current = await waitFor(() => allocs(s, 'again'), (l) => l[0]?.ClientStatus === 'running');
    expect(current).toHaveLength(1);
    expect(current[0]?.ID).not.toBe(leftovers[0]?.ID);
    expect((await allocs(s, 'again', '?all=true')).map((a) => a.ID).sort()).toEqual([current[0]?.ID, leftovers[0]?.ID].sort());
    expect(((await call(s, 'GET', '/v1/job/again')).json as Job).Status).toBe('running');
  });

  it('stores a deregistered job as a new version', async () => {
    const s = await sandboxWith();
    await call(s, 'PUT', '/v1/jobs', { Job: job('stopme') });
    await call(s, 'DELETE', '/v1/job/stopme');
    expect((await call(s, 'GET', '/v1/job/stopme')).json).toMatchObject({ Stop: true, Version: 1 });
  });
});

describe('host-volume routes by emulated Nomad version', () => {
  it('has none before 1.10: the list answers 200 with an empty body, the rest 404 with an empty body', async () => {
    const s = await sandboxWith({ nomadVersion: '1.6.5' });
    expect(await call(s, 'GET', '/v1/volumes?type=host')).toMatchObject({ status: 200, text: '' });
    for (const [method, path] of [
      ['GET', '/v1/volume/host/00000000-0000-4000-8000-000000000000'],
      ['PUT', '/v1/volume/host/create'],
      ['DELETE', '/v1/volume/host/00000000-0000-4000-8000-000000000000/delete'],
    ] as const) {
      expect(await call(s, method, path, method === 'PUT' ? { Volume: { Name: 'h', PluginID: 'mkdir' } } : undefined)).toMatchObject({ status: 404, text: '' });
    }
    expect(await call(s, 'GET', '/v1/volumes?type=csi')).toMatchObject({ status: 200, json: [] });
  });

  it('has them from 1.10 (the default)', async () => {
    const s = await sandboxWith();
    expect(await call(s, 'GET', '/v1/volumes?type=host')).toMatchObject({ status: 200, json: [] });
    expect((await call(s, 'PUT', '/v1/volume/host/create', { Volume: { Name: 'h', PluginID: 'mkdir' } })).status).toBe(200);
  });
});

describe('CSI delete of a claimed volume', () => {
  it('destroys the storage first, then answers volume in use and keeps the volume and its claim', async () => {
    const s = await sandboxWith();
    await csiCreate(s, 'vol');
    await call(s, 'PUT', '/v1/jobs', { Job: job('claimer', { csi: 'vol' }) });
    await waitFor(() => allocs(s, 'claimer'), (l) => l[0]?.ClientStatus === 'running');
    expect(s.csiVolumeData('vol')).toEqual({ ID: 'vol', Namespace: 'default', Registered: true, DataDestroyed: false });

    expect(await call(s, 'DELETE', '/v1/volume/csi/vol/delete')).toMatchObject({ status: 500, text: 'volume in use: vol' });
    expect(s.csiVolumeData('vol')).toMatchObject({ Registered: true, DataDestroyed: true });
    expect((await call(s, 'GET', '/v1/sandbox/volumes/vol')).json).toMatchObject({ Registered: true, DataDestroyed: true });
    const vol = (await call(s, 'GET', '/v1/volume/csi/vol')).json as CsiVolume;
    expect(Object.keys(vol.WriteAllocs ?? {})).toHaveLength(1);
    expect(vol.Allocations).toHaveLength(1);
    expect(((await call(s, 'GET', '/v1/volumes?type=csi')).json as unknown[]).length).toBe(1);
  });

  it('keeps the data of a volume that is never deleted, and starts fresh when the id is created again', async () => {
    const s = await sandboxWith();
    await csiCreate(s, 'v2');
    expect(s.csiVolumeData('v2').DataDestroyed).toBe(false);
    expect((await call(s, 'DELETE', '/v1/volume/csi/v2/delete')).status).toBe(200);
    expect(s.csiVolumeData('v2')).toMatchObject({ Registered: false, DataDestroyed: true });
    await csiCreate(s, 'v2');
    expect(s.csiVolumeData('v2')).toMatchObject({ Registered: true, DataDestroyed: false });
  });
});

describe('drivers', () => {
  it('cannot place a task whose driver the node lacks: a blocked eval with missing drivers', async () => {
    const s = await sandboxWith({ drivers: ['exec', 'raw_exec'] });
    const reg = (await call(s, 'PUT', '/v1/jobs', { Job: job('dock', { driver: 'docker' }) })).json as { EvalID: string };
    const ev = (await call(s, 'GET', `/v1/evaluation/${reg.EvalID}`)).json as Evaluation;
    expect(ev.FailedTGAllocs?.g?.ConstraintFiltered).toEqual({ 'missing drivers': 1 });
    expect(ev.BlockedEval).toBeTruthy();
    expect(ev.QueuedAllocations).toEqual({ g: 1 });
    expect(await allocs(s, 'dock')).toEqual([]);
    expect(((await call(s, 'GET', '/v1/job/dock')).json as Job).Status).toBe('pending');
  });

  it('places docker tasks by default', async () => {
    const s = await sandboxWith();
    await call(s, 'PUT', '/v1/jobs', { Job: job('dock', { driver: 'docker' }) });
    await waitFor(() => allocs(s, 'dock'), (l) => l[0]?.ClientStatus === 'running');
  });

  it('fails the allocation of a group mounting a CSI volume when no task can mount it (raw_exec)', async () => {
    const s = await sandboxWith();
    await csiCreate(s, 'rv');
    await call(s, 'PUT', '/v1/jobs', { Job: job('raw', { driver: 'raw_exec', csi: 'rv', type: 'batch' }) });
    const [failed] = await waitFor(() => allocs(s, 'raw'), (l) => l[0]?.ClientStatus === 'failed');
    expect(failed?.ClientDescription).toBe('Failed tasks');
    const events = failed?.TaskStates?.t?.Events ?? [];
    expect(events.map((e) => e.Type)).toEqual(['Received', 'Setup Failure']);
    expect(events[1]).toMatchObject({ DisplayMessage: 'failed to setup alloc: pre-run hook "csi_hook" failed: no task supports CSI', FailsTask: true });
    await waitFor(() => call(s, 'GET', '/v1/volume/csi/rv'), (r) => Object.keys((r.json as CsiVolume).WriteAllocs ?? {}).length === 0);
  });
});

describe('reads and query parameters', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = await sandboxWith();
  });
  it('answers a non-UUID alloc/eval id with Nomad 1.6.5’s 500', async () => {
    expect(await call(s, 'GET', '/v1/allocation/nope')).toMatchObject({ status: 500, text: 'alloc lookup failed: index error: UUID must be 36 characters' });
    expect(await call(s, 'GET', '/v1/evaluation/nope')).toMatchObject({ status: 500, text: 'failed to lookup eval: eval lookup failed: index error: UUID must be 36 characters' });
  });
  it('refuses a wait without a unit and an index that is not a number', async () => {
    expect(await call(s, 'GET', '/v1/jobs?index=1&wait=2')).toMatchObject({ status: 400, text: 'Invalid wait time' });
    expect(await call(s, 'GET', '/v1/jobs?index=abc')).toMatchObject({ status: 400, text: 'Invalid index' });
    expect(await call(s, 'GET', '/v1/jobs?index=1&wait=50ms')).toMatchObject({ status: 200, json: [] });
  });
  it('leaves empty fields out of evaluations and Meta out of list stubs of jobs without meta', async () => {
    const reg = (await call(s, 'PUT', '/v1/jobs', { Job: job('plain') })).json as { EvalID: string };
    const ev = (await call(s, 'GET', `/v1/evaluation/${reg.EvalID}`)).json as Record<string, unknown>;
    for (const k of ['StatusDescription', 'BlockedEval', 'PreviousEval', 'FailedTGAllocs']) expect(ev).not.toHaveProperty(k);
    await call(s, 'PUT', '/v1/jobs', { Job: { ...job('meta'), Meta: { a: 'b' } } });
    const stubs = (await call(s, 'GET', '/v1/jobs?meta=true')).json as { ID: string; Meta?: unknown }[];
    expect(stubs.find((j) => j.ID === 'plain')).not.toHaveProperty('Meta');
    expect(stubs.find((j) => j.ID === 'meta')?.Meta).toEqual({ a: 'b' });
  });
  it('answers an unknown route 404 with an empty body', async () => {
    expect(await call(s, 'GET', '/v1/nope')).toMatchObject({ status: 404, text: '' });
  });
});
