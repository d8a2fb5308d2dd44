import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NomadClient } from '../../../nomad/client';
import { pickSrvTarget } from '../../../core/srv';
import { NomadError } from '../../../nomad/errors';
import type { Sandbox } from '../../../nomad/sandbox';
import { csiVolume, sandboxWithClient, spaceJobHcl, waitFor } from './helpers';

let sandbox: Sandbox;
let client: NomadClient;

beforeAll(async () => {
  ({ sandbox, client } = await sandboxWithClient());
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

async function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${sandbox.url}${path}`, { method, body, headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function failure(p: Promise<unknown>): Promise<NomadError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof NomadError)) throw new Error(`expected a NomadError, got ${String(e)}`);
  return e;
}

describe('transport', () => {
  it('answers text/plain errors, 405 Invalid method and 400 Request body is empty', async () => {
    const notFound = await raw('GET', '/v1/job/nope');
    expect(notFound).toMatchObject({ status: 404, text: 'job not found' });
    expect(notFound.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await raw('POST', '/v1/volume/csi/x/create', '{}')).toMatchObject({ status: 405, text: 'Invalid method' });
    expect(await raw('PUT', '/v1/jobs', '')).toMatchObject({ status: 400, text: 'Request body is empty' });
    expect((await raw('GET', '/v1/alloc/x')).status).toBe(404);
  });

  it('sets the read headers and honours blocking queries', async () => {
    const first = await raw('GET', '/v1/jobs');
    const index = Number(first.headers.get('x-nomad-index'));
    expect(index).toBeGreaterThan(0);
    expect(first.headers.get('x-nomad-knownleader')).toBe('true');
    expect(first.headers.get('x-nomad-lastcontact')).toBe('0');

    const started = Date.now();
    const timedOut = await raw('GET', `/v1/jobs?index=${index}&wait=100ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(JSON.parse(timedOut.text)).toEqual([]);

    const blocked = raw('GET', `/v1/jobs?index=${index}&wait=5s`);
    await client.registerJob(await client.parseJob(spaceJobHcl('blocking')));
    const woke = await blocked;
    expect(Number(woke.headers.get('x-nomad-index'))).toBeGreaterThan(index);
    expect(JSON.parse(woke.text)).toHaveLength(1);
  });

  it('decodes request bodies case-insensitively', async () => {
    const res = await raw('PUT', '/v1/jobs', JSON.stringify({ job: { id: 'lower', taskgroups: [{ name: 'g', tasks: [{ name: 't', driver: 'docker' }] }] } }));
    expect(res.status).toBe(200);
    const job = await client.readJob('lower');
    expect(job?.TaskGroups?.[0]?.Tasks[0]?.Driver).toBe('docker');
  });

  it('requires the ACL token when one is configured', async () => {
    const { sandbox: secured, client: anonymous } = await sandboxWithClient({ aclToken: 'secret' });
    try {
      const denied = await failure(anonymous.listJobs());
      expect(denied).toMatchObject({ nomadStatus: 403, nomadMessage: 'Permission denied', retryable: false, type: 'nomad_request' });
      const wrong = new NomadClient({ addr: secured.url, token: 'nope' });
      expect(await failure(wrong.listJobs())).toMatchObject({ nomadStatus: 403, nomadMessage: 'ACL token not found' });
      expect(await new NomadClient({ addr: secured.url, token: 'secret' }).listJobs()).toEqual([]);
      const bearer = await fetch(`${secured.url}/v1/jobs`, { headers: { Authorization: 'Bearer secret' } });
      expect(bearer.status).toBe(200);
    } finally {
      await secured.close();
    }
  });

  it('resolves srv+ addresses lazily with the lowest priority, highest weight record', async () => {
    expect(pickSrvTarget([
      { name: 'b', port: 1, priority: 10, weight: 100 },
      { name: 'a', port: 2, priority: 5, weight: 1 },
      { name: 'c', port: 3, priority: 5, weight: 50 },
    ])?.name).toBe('c');
    const resolveSrv = jest.fn(async () => [{ name: '127.0.0.1', port: sandbox.port, priority: 1, weight: 1 }]);
    const viaSrv = new NomadClient({ addr: 'srv+_nomad._tcp.service.consul', resolveSrv });
    expect(resolveSrv).not.toHaveBeenCalled();
    await viaSrv.listJobs();
    await viaSrv.listJobs();
    expect(resolveSrv).toHaveBeenCalledTimes(1);
    expect(resolveSrv).toHaveBeenCalledWith('_nomad._tcp.service.consul');
  });
});

describe('jobs', () => {
  it('parses HCL, and rejects empty or broken specs with 400', async () => {
    const hcl = readFileSync(join(__dirname, '../../fixtures/nomad/example-space.nomad.hcl'), 'utf8');
    const job = await client.parseJob(hcl);
    expect(job).toMatchObject({ ID: 'space-abc123', Region: null, Priority: null });
    const canonical = await client.parseJob(hcl, { canonicalize: true });
    expect(canonical).toMatchObject({ Region: 'global', Priority: 50 });
    const withVars = await client.parseJob(hcl, { variables: 'image = "alpine:3"' });
    expect(withVars.TaskGroups?.[0]?.Tasks[0]?.Config?.image).toBe('alpine:3');

    expect(await failure(client.parseJob(''))).toMatchObject({ nomadStatus: 400, nomadMessage: 'Job spec is empty', retryable: false });
    const broken = await failure(client.parseJob('job "x" {'));
    expect(broken.nomadStatus).toBe(400);
    expect(broken.nomadMessage).toMatch(/^Failed to parse job: input\.hcl:/);
    expect(broken.type).toBe('nomad_request');
  });

  it('registers, reads, lists with meta, and deregisters', async () => {
    const job = await client.parseJob(spaceJobHcl('space-1'));
    const reg = await client.registerJob(job);
    for (const field of ['EvalID', 'EvalCreateIndex', 'JobModifyIndex', 'Warnings', 'Index']) expect(reg).toHaveProperty(field);
    expect(reg.EvalID).toMatch(/^[0-9a-f-]{36}$/);

    const read = await client.readJob('space-1');
    expect(read).toMatchObject({ ID: 'space-1', Stop: false, Version: 0, Meta: { knot_space_id: 'space-1' }, JobModifyIndex: reg.JobModifyIndex });
    expect(['pending', 'running']).toContain(read?.Status);

    const again = await client.registerJob(job);
    expect(again.EvalID).not.toBe(reg.EvalID);
    expect((await client.readJob('space-1'))?.Version).toBe(0);

    const stubs = await client.listJobs({ prefix: 'space-', meta: true });
    expect(stubs).toHaveLength(1);
    for (const field of ['ID', 'Name', 'Namespace', 'Status', 'Type', 'Stop', 'JobModifyIndex', 'CreateIndex', 'ModifyIndex']) {
      expect(stubs[0]).toHaveProperty(field);
    }
    expect(stubs[0]?.Meta).toEqual({ knot_space_id: 'space-1' });
    expect((await client.listJobs())[0]?.Meta).toBeUndefined();
    expect(await client.listJobs({ prefix: 'other' })).toEqual([]);

    const allocs = await client.jobAllocations('space-1');
    expect(allocs).toHaveLength(1);
    for (const field of ['ID', 'EvalID', 'Name', 'JobID', 'TaskGroup', 'DesiredStatus', 'ClientStatus', 'TaskStates', 'CreateIndex', 'ModifyIndex', 'JobVersion']) {
      expect(allocs[0]).toHaveProperty(field);
    }
    const alloc = await client.readAllocation(allocs[0]?.ID ?? '');
    expect(alloc?.Job?.ID).toBe('space-1');
    expect(alloc?.AllocatedResources?.Shared.Ports[0]).toMatchObject({ Label: 'ssh', To: 22 });

    const evals = await client.jobEvaluations('space-1');
    expect(evals[0]).toMatchObject({ JobID: 'space-1', Status: 'complete', TriggeredBy: 'job-register' });
    expect(await client.readEvaluation(reg.EvalID)).toMatchObject({ ID: reg.EvalID });

    const stop = await client.deregisterJob('space-1');
    expect(stop.EvalID).not.toBe('');
    expect(await client.readJob('space-1')).toMatchObject({ Stop: true });
    await waitFor(() => client.readJob('space-1'), (j) => j?.Status === 'dead');

    await client.deregisterJob('space-1', { purge: true });
    expect(await client.readJob('space-1')).toBeNull();
  });

  it('answers the documented quirks for unknown ids', async () => {
    expect(await client.readJob('ghost')).toBeNull();
    expect(await client.jobAllocations('ghost')).toEqual([]);
    expect(await client.deregisterJob('ghost', { purge: true })).toMatchObject({ EvalID: '' });
    expect(await client.readAllocation('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(await client.readEvaluation('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(await raw('GET', '/v1/allocation/00000000-0000-0000-0000-000000000000')).toMatchObject({ status: 404, text: 'alloc not found' });
    expect(await raw('GET', '/v1/evaluation/00000000-0000-0000-0000-000000000000')).toMatchObject({ status: 404, text: 'eval not found' });
    // Nomad 1.6.5 parses the id as a UUID first: a malformed one is a 500, not a 404.
    expect(await raw('GET', '/v1/allocation/x')).toMatchObject({ status: 500, text: 'alloc lookup failed: index error: UUID must be 36 characters' });
    expect(await raw('GET', '/v1/evaluation/x')).toMatchObject({ status: 500, text: 'failed to lookup eval: eval lookup failed: index error: UUID must be 36 characters' });
  });

  it('rejects bad registrations', async () => {
    expect(await raw('PUT', '/v1/jobs', '{}')).toMatchObject({ status: 400, text: 'Job must be specified' });
    expect(await raw('PUT', '/v1/jobs', '{"Job":{"Name":"x"}}')).toMatchObject({ status: 400, text: "Job ID hasn't been provided" });
    const job = await client.parseJob(spaceJobHcl('enforced'));
    const first = await client.registerJob(job, { enforceIndex: true, jobModifyIndex: 0 });
    const conflict = await failure(client.registerJob(job, { enforceIndex: true, jobModifyIndex: 0 }));
    expect(conflict).toMatchObject({ nomadStatus: 500, retryable: false, type: 'nomad_request' });
    expect(conflict.nomadMessage).toMatch(/^Enforcing job modify index 0/);
    await client.registerJob({ ...job, Meta: { changed: 'yes' } }, { enforceIndex: true, jobModifyIndex: first.JobModifyIndex });
    expect((await client.readJob('enforced'))?.Version).toBe(1);
  });
});

describe('CSI volumes', () => {
  it('creates, updates, reads, lists, deregisters and deletes', async () => {
    const created = await client.createCsiVolume(csiVolume('vol-1'));
    // The create answer is the plugin's view, before claim bookkeeping (as on Nomad 1.6.5).
    expect(created).toMatchObject({ ID: 'vol-1', PluginID: 'hostpath', Namespace: 'default', Schedulable: false, ReadAllocs: null, WriteAllocs: null, RequestedCapacityMin: 1e9 });
    expect(created.MountOptions?.MountFlags).toEqual(['[REDACTED]']);
    const read = await client.readCsiVolume('vol-1');
    for (const field of ['ID', 'Name', 'ExternalID', 'PluginID', 'Capacity', 'ReadAllocs', 'WriteAllocs', 'Allocations', 'Schedulable', 'RequestedCapabilities', 'MountOptions']) {
      expect(read).toHaveProperty(field);
    }
    expect(read).toMatchObject({ Secrets: null, MountOptions: { FSType: 'ext4', MountFlags: ['noatime'] }, ReadAllocs: {}, WriteAllocs: {} });

    const expanded = await client.createCsiVolume(csiVolume('vol-1', { capacityMin: 5e9 }));
    expect(expanded.Capacity).toBeGreaterThanOrEqual(5e9);
    expect(expanded.CreateIndex).toBe(created.CreateIndex);

    await client.registerCsiVolume(csiVolume('vol-2', { pluginId: 'readonly-plugin' }));
    const listed = await client.listCsiVolumes({ prefix: 'vol-' });
    expect(listed.map((v) => v.ID)).toEqual(['vol-1', 'vol-2']);
    for (const field of ['ID', 'Namespace', 'Name', 'ExternalID', 'PluginID', 'Schedulable', 'CurrentReaders', 'CurrentWriters', 'ControllerRequired']) {
      expect(listed[0]).toHaveProperty(field);
    }
    expect(await raw('GET', '/v1/volumes')).toMatchObject({ status: 200, text: '[]' });

    await client.deregisterCsiVolume('vol-2');
    await client.deleteCsiVolume('vol-1');
    expect(await client.readCsiVolume('vol-1')).toBeNull();
    expect(await client.listCsiVolumes()).toEqual([]);
    await client.deleteCsiVolume('vol-1');
    await client.deregisterCsiVolume('vol-1');
    expect(await raw('DELETE', '/v1/volume/csi/vol-1/delete')).toMatchObject({ status: 500, text: 'volume not found: vol-1' });
    expect(await raw('GET', '/v1/volume/csi/vol-1')).toMatchObject({ status: 404, text: 'volume not found' });
  });

  it.each([
    ['unknown plugin', { pluginId: 'nope' }, 'no CSI plugin named: nope could be found'],
    ['plugin without create', { pluginId: 'readonly-plugin' }, 'plugin does not support creating volumes'],
    ['missing id', { id: '' }, 'validation: missing volume id'],
    ['missing plugin and capabilities', { pluginId: '', capabilities: [] }, 'validation: missing plugin id, must include at least one capability block'],
  ])('create rejects %s with a non-retryable 500', async (_name, overrides, message) => {
    const spec = csiVolume('bad', overrides);
    const body = JSON.stringify({ Volumes: [{ ...spec, ID: spec.id, PluginID: spec.pluginId, RequestedCapabilities: spec.capabilities.map((c) => ({ AccessMode: c.accessMode, AttachmentMode: c.attachmentMode })) }] });
    expect(await raw('PUT', '/v1/volume/csi/bad/create', body)).toMatchObject({ status: 500, text: message });
    // Without an id the client's URL has no volume segment, so only the raw body case reaches validation.
    if (spec.id) {
      expect(await failure(client.createCsiVolume(spec))).toMatchObject({ nomadStatus: 500, nomadMessage: message, retryable: false, type: 'nomad_request' });
    }
  });
});

describe('host volumes', () => {
  it('creates, lists, reads and deletes; unknown ids are done', async () => {
    const vol = await client.createHostVolume(csiVolume('unused', { type: 'host', name: 'cache', pluginId: 'mkdir', capacityMin: 2e9 }));
    expect(vol).toMatchObject({ Name: 'cache', PluginID: 'mkdir', State: 'ready', RequestedCapacityMinBytes: 2e9, NodePool: 'default' });
    expect(vol.ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(vol.NodeID).not.toBe('');
    expect((await client.listHostVolumes()).map((v) => v.ID)).toEqual([vol.ID]);
    expect(await client.readHostVolume(vol.ID)).toMatchObject({ Name: 'cache' });
    await client.deleteHostVolume(vol.ID);
    expect(await client.listHostVolumes()).toEqual([]);
    await client.deleteHostVolume(vol.ID);
    expect(await raw('DELETE', `/v1/volume/host/${vol.ID}/delete`)).toMatchObject({ status: 500, text: `no such volume: ${vol.ID}` });
  });
});

/**
 * A Nomad before 1.10 (the real 1.6.5 agent's answers, byte for byte): the host-volume list is 200
 * with an empty body, every other host-volume route a 404 with an empty body, and a non-UUID
 * allocation id a 500. Served by a bare HTTP server so the client's own transport is what is tested.
 */
describe('a Nomad without the host-volume API (before 1.10)', () => {
  let server: import('node:http').Server;
  let old: NomadClient;
  const seen: string[] = [];
  beforeAll(async () => {
    const http = await import('node:http');
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url?.startsWith('/v1/volumes?') && req.url.includes('type=host')) return void res.writeHead(200).end();
      if (req.url?.startsWith('/v1/volume/host')) return void res.writeHead(404).end();
      if (req.url?.startsWith('/v1/allocation/')) return void res.writeHead(500).end('UUID must be 36 characters');
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    old = new NomadClient({ addr: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('lists no host volumes instead of failing on the empty body', async () => {
    await expect(old.listHostVolumes()).resolves.toEqual([]);
  });

  it('a host-volume create fails as a final request error that says why', async () => {
    const e = await failure(old.createHostVolume(csiVolume('unused', { type: 'host', name: 'cache', pluginId: 'mkdir' })));
    expect(e).toMatchObject({ type: 'nomad_request', retryable: false, nomadStatus: 404 });
    expect(e.nomadMessage).toMatch(/host volumes need Nomad 1\.10/);
    await expect(old.readHostVolume('x')).resolves.toBeNull();
  });

  it('reads of non-UUID allocation and evaluation ids are "not found" without a request', async () => {
    seen.length = 0;
    await expect(old.readAllocation('not-a-uuid')).resolves.toBeNull();
    await expect(old.readEvaluation('')).resolves.toBeNull();
    expect(seen).toEqual([]);
  });
});
