/**
 * The lifecycle against a real Nomad agent (v1.6.5 with the CSI hostpath plugin), driven over the
 * HTTP API with a real `knot worker` process on the Temporal dev server and an SQLite store. Only
 * `npm run test:nomad` runs it, when KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN name the binaries.
 *
 * The data checks read the plugin's storage directly: the example template's task appends a line
 * to /home/starts.log at each start, so the file shows whether a run saw the previous run's data.
 * The task runs the real agent, fetched from the API's /agent/ downloads (dist/agent-downloads);
 * tests/nomad/agent-terminal.test.ts checks the agent's link and terminal.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newId } from '../../core/names';
import { NomadClient } from '../../nomad/client';
import { createLifecycleClient } from '../../temporal/lifecycle-client';
import { SWEEP_WORKFLOWS, type KnotWorkflows } from '../../temporal/workflows';
import { createTestStore, type TestStore } from '../support/db';
import { EXAMPLES } from '../support/harness';
import { waitFor } from '../support/wait';
import { workerProcess, type WorkerProcess } from '../support/worker-process';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { agentDownloadsRoot } from '../../api/agent-downloads';
import { freePort } from './agent';
import { startRealNomad, type RealNomad } from './real-nomad';

const ENCRYPT_KEY = Buffer.alloc(32, 9).toString('base64');
const execJob = () => readFileSync(path.join(EXAMPLES, 'debian-exec/job.nomad.hcl'), 'utf8');
const execVolumes = () => readFileSync(path.join(EXAMPLES, 'debian-exec/volumes.yaml'), 'utf8');
/** a second CSI volume, as an admin would add it to the template */
const cacheVolume = execVolumes().replace('volumes:\n', '').replace(/_home/g, '_cache');

const START_TIMEOUT_MS = 120_000;
const timings: Record<string, number[]> = {};
const timed = (what: string, ms: number) => (timings[what] ??= []).push(ms);

let nomadAgent: RealNomad;
let nomad: NomadClient;
let db: TestStore;
let worker: WorkerProcess;
let temporal: Client;
let api: Api;
let token: string;
let username: string;
let taskQueue: string;

beforeAll(async () => {
  if (!agentDownloadsRoot()) throw new Error('no agent downloads in dist/agent-downloads: run `node scripts/build-agent.mjs` (npm run test:nomad builds them)');
  nomadAgent = await startRealNomad();
  nomad = new NomadClient({ addr: nomadAgent.url, timeoutMs: 10_000 });
  db = await createTestStore('sqlite');
  const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS!;
  taskQueue = `real-nomad-${newId(Date.now())}`;
  // the template's task fetches the agent from the API (server.url): exec tasks share the host's
  // network, so the API on a loopback port is reachable, and the worker renders that URL into jobs
  const serverUrl = `http://127.0.0.1:${await freePort()}`;
  worker = workerProcess({ taskQueue, temporalAddress: address, nomadAddr: nomadAgent.url, storeEnv: db.env, encryptKey: ENCRYPT_KEY, nomadTimeout: '10s', extraEnv: { KNOT_SERVER_URL: serverUrl } });
  await worker.start();
  temporal = new Client({ connection: await Connection.connect({ address }), namespace: 'default' });
  const lifecycle = createLifecycleClient(temporal, db.store, { taskQueue });
  // job parsing and validation at template save go to the real agent too
  api = await startApi('sqlite', { port: Number(new URL(serverUrl).port), backend: { store: db.store, sandboxUrl: nomadAgent.url, lifecycle }, config: { KNOT_ENCRYPT: ENCRYPT_KEY, KNOT_SERVER_URL: serverUrl } });
  username = `u${newId(Date.now()).slice(-8)}`;
  ({ token } = await api.user(username));
  const tpl = await api.call('POST', '/api/v1/templates', { body: { name: 'debian-exec', description: 'seed 000 on exec', job: execJob(), volumes: execVolumes() } });
  expect(tpl.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await api?.close();
  await temporal?.connection.close();
  await worker?.stop();
  await db?.cleanup();
  await nomadAgent?.stop();
  if (Object.keys(timings).length > 0) console.log(`real Nomad timings (ms): ${JSON.stringify(timings)}`);
}, 60_000);

// ---- helpers ----

type Body = Record<string, unknown>;
const phaseOf = (b: Body) => (b.status as { phase?: string } | undefined)?.phase;

/** The shared bounded wait, with the worker's last output on failure (it explains most). */
async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = START_TIMEOUT_MS): Promise<T> {
  return waitFor(probe, ok, timeoutMs, 200).catch((e: Error) => {
    throw new Error(`${what}: ${e.message.slice(0, 1500)}\nworker: ${worker.output().slice(-1500)}`);
  });
}

const getSpace = (id: string) => api.call('GET', `/api/v1/spaces/${id}`, { token });

interface OperationBody {
  id: string;
  status: string;
  error: { type: string; message: string } | null;
}

/** Waits until the operation has ended; answers it and the space as it is then. */
async function finished(opId: string, spaceId: string): Promise<{ op: OperationBody; space: Body }> {
  const op = await until(`operation ${opId} ends`, () => api.call('GET', `/api/v1/operations/${opId}`, { token }), (r) => ['succeeded', 'failed', 'cancelled'].includes((r.body as { status?: string }).status ?? ''));
  return { op: op.body as unknown as OperationBody, space: (await getSpace(spaceId)).body };
}

async function act(id: string, verb: 'start' | 'stop' | 'update' | 'restart'): Promise<{ op: OperationBody; space: Body }> {
  const t0 = Date.now();
  const res = await api.call('POST', `/api/v1/spaces/${id}/${verb}`, { token });
  expect(res.status).toBe(202);
  const out = await finished((res.body.operation as { id: string }).id, id);
  timed(verb, Date.now() - t0);
  return out;
}

async function createSpace(name: string, template = 'debian-exec'): Promise<string> {
  const res = await api.call('POST', '/api/v1/spaces', { token, body: { name, template } });
  expect(res.status).toBe(201);
  expect(phaseOf(res.body)).toBe('stopped');
  return res.body.id as string;
}

async function putTemplate(name: string, job: string, volumes: string): Promise<void> {
  const res = await api.call('PUT', `/api/v1/templates/${name}`, { body: { name, job, volumes } });
  expect(res.status).toBe(200);
}

async function newTemplate(name: string, job: string, volumes = execVolumes()): Promise<void> {
  const res = await api.call('POST', '/api/v1/templates', { body: { name, job, volumes } });
  expect(res.status).toBe(201);
}

/** The lines the space's task wrote into its home volume, read from the plugin's storage. */
async function startsLog(volumeId: string): Promise<string[]> {
  const vol = await nomad.readCsiVolume(volumeId);
  if (!vol) throw new Error(`volume ${volumeId} is not in Nomad`);
  const file = path.join(nomadAgent.csiStateDir, vol.ExternalID, 'starts.log');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
}

async function csiVolumesOf(spaceId: string): Promise<string[]> {
  return (await nomad.listCsiVolumes()).map((v) => v.ID).filter((v) => v.includes(spaceId)).sort();
}

async function jobsOf(spaceId: string): Promise<string[]> {
  return (await nomad.listJobs({ meta: true })).filter((j) => j.Meta?.knot_space_id === spaceId && !j.Stop).map((j) => j.ID);
}

// ---- scenarios ----

describe('the seed scenario on a real Nomad agent', () => {
  let id: string;
  let home: string;
  let homeStorage: string;

  it('create leaves Nomad untouched; start runs the exec job with its CSI volume until healthy', async () => {
    id = await createSpace('real');
    home = `debian_${id}_home`;
    expect(await jobsOf(id)).toEqual([]);
    expect(await csiVolumesOf(id)).toEqual([]);

    const running = await act(id, 'start');
    expect(phaseOf(running.space)).toBe('running');
    expect(running.op).toMatchObject({ status: 'succeeded' });
    const jobId = (running.space.status as { nomadJobId: string }).nomadJobId;
    expect(jobId).toBe(`real-${username}`);
    const allocs = await nomad.jobAllocations(jobId);
    expect(allocs.some((a) => a.ClientStatus === 'running' && a.DeploymentStatus?.Healthy === true)).toBe(true);
    const vol = await nomad.readCsiVolume(home);
    expect(Object.keys(vol?.WriteAllocs ?? {})).toHaveLength(1);
    homeStorage = path.join(nomadAgent.csiStateDir, vol!.ExternalID);
    expect(await until('the task wrote its first start', () => startsLog(home), (l) => l.length === 1, 30_000)).toHaveLength(1);
  });

  it('stop removes the job and keeps the volume and its data; the next start reads it', async () => {
    const stopped = await act(id, 'stop');
    expect(phaseOf(stopped.space)).toBe('stopped');
    expect(await jobsOf(id)).toEqual([]);
    expect(await csiVolumesOf(id)).toEqual([home]);
    const before = await startsLog(home);

    expect(phaseOf((await act(id, 'start')).space)).toBe('running');
    const after = await until('the second start is logged', () => startsLog(home), (l) => l.length === 2, 30_000);
    expect(after[0]).toBe(before[0]);
  });

  it('a volume added to the template is created by the update; removed again, it is deleted with its data', async () => {
    await putTemplate('debian-exec', execJob(), execVolumes() + cacheVolume);
    expect((await getSpace(id)).body.status).toMatchObject({ updateAvailable: true });
    const updated = await act(id, 'update');
    expect(phaseOf(updated.space)).toBe('running');
    expect(await csiVolumesOf(id)).toEqual([`debian_${id}_cache`, home]);
    const cacheStorage = path.join(nomadAgent.csiStateDir, (await nomad.readCsiVolume(`debian_${id}_cache`))!.ExternalID);
    expect(existsSync(cacheStorage)).toBe(true);

    await putTemplate('debian-exec', execJob(), execVolumes());
    expect(phaseOf((await act(id, 'update')).space)).toBe('running');
    expect(await csiVolumesOf(id)).toEqual([home]);
    expect(existsSync(cacheStorage)).toBe(false);
    // the home volume kept every start's line through both restarts
    expect(await until('both restarts are logged', () => startsLog(home), (l) => l.length === 4, 30_000)).toHaveLength(4);
  });

  it('delete (only when stopped) removes the job, every volume and its data, and the space', async () => {
    const refused = await api.call('DELETE', `/api/v1/spaces/${id}`, { token });
    expect(refused.status).toBe(409);
    await act(id, 'stop');
    const del = await api.call('DELETE', `/api/v1/spaces/${id}`, { token });
    expect(del.status).toBe(202);
    await until('the space is gone', () => getSpace(id), (r) => r.status === 404);
    expect(await jobsOf(id)).toEqual([]);
    expect(await csiVolumesOf(id)).toEqual([]);
    expect(existsSync(homeStorage)).toBe(false);
  });
});

describe('failures on a real Nomad agent', () => {
  it('a job Nomad rejects fails at once as job_rejected naming the reason, and compensates', async () => {
    await newTemplate('too-small', execJob().replace(/memory = \d+/, 'memory = 5'));
    const id = await createSpace('tiny', 'too-small');
    const t0 = Date.now();
    const failed = await act(id, 'start');
    timed('rejected start → failed', Date.now() - t0);
    expect(failed.op).toMatchObject({ status: 'failed', error: { type: 'job_rejected' } });
    expect(failed.op.error?.message).toContain('minimum MemoryMB value is 10');
    expect(phaseOf(failed.space)).toBe('stopped');
    expect((failed.space.status as { reason: string }).reason).toBe('StartFailed:job_rejected');
    // the volume this run created was deleted again; nothing was registered
    expect(await csiVolumesOf(id)).toEqual([]);
    expect(await jobsOf(id)).toEqual([]);
  });

  it('an allocation that fails is compensated: no job, no volume the run created', async () => {
    await newTemplate('crashing', execJob().replace('date -u +%Y-%m-%dT%H:%M:%SZ >> /home/starts.log && exec node \\"$NOMAD_TASK_DIR/knot-agent/knot-agent.js\\"', 'exit 3'));
    const id = await createSpace('crash', 'crashing');
    const failed = await act(id, 'start');
    expect(failed.op).toMatchObject({ status: 'failed', error: { type: 'allocation_failed' } });
    expect(phaseOf(failed.space)).toBe('stopped');
    expect(await jobsOf(id)).toEqual([]);
    expect(await until('the run’s volume is deleted', () => csiVolumesOf(id), (v) => v.length === 0, 60_000)).toEqual([]);
  });

  it('a batch-job space comes up (batch allocations never get deployment health)', async () => {
    await newTemplate('batchy', execJob().replace('datacenters =', 'type = "batch"\n  datacenters =').replace(/\n {2}update \{[^}]*\}\n/, '\n').replace(/\n {4}reschedule \{[^}]*\}\n/, '\n'));
    const id = await createSpace('batch', 'batchy');
    const running = await act(id, 'start');
    expect(running.op).toMatchObject({ status: 'succeeded' });
    expect(phaseOf(running.space)).toBe('running');
    expect((await nomad.readJob(`batch-${username}`))?.Type).toBe('batch');
    expect(phaseOf((await act(id, 'stop')).space)).toBe('stopped');
    expect(await jobsOf(id)).toEqual([]);
  });
});

describe('crash recovery and cleanup on a real Nomad agent', () => {
  it('a worker SIGKILLed mid-start is replaced and the start completes; stop and delete leave nothing', async () => {
    const id = await createSpace('crashy');
    const res = await api.call('POST', `/api/v1/spaces/${id}/start`, { token });
    expect(res.status).toBe(202);
    // kill while the start waits for the allocation: the job is registered, not yet healthy
    await until('the job is registered', () => jobsOf(id), (j) => j.length === 1, 60_000);
    const startsBefore = worker.starts;
    await worker.kill();
    expect(worker.alive).toBe(false);
    await worker.start();
    expect(worker.starts).toBe(startsBefore + 1);
    const { op, space } = await finished((res.body.operation as { id: string }).id, id);
    expect(op).toMatchObject({ status: 'succeeded' });
    expect(phaseOf(space)).toBe('running');
    expect(await csiVolumesOf(id)).toEqual([`debian_${id}_home`]);

    await act(id, 'stop');
    expect((await api.call('DELETE', `/api/v1/spaces/${id}`, { token })).status).toBe(202);
    await until('the space is gone', () => getSpace(id), (r) => r.status === 404);
    expect(await jobsOf(id)).toEqual([]);
    expect(await csiVolumesOf(id)).toEqual([]);
  });

  it('the cleanup sweep runs clean on Nomad 1.6 (no host-volume API), deletes what knot recorded and spares volumes knot never made', async () => {
    // a stopped space whose deletion lost its volume (as a crash in an older knot could): knot has
    // the volume's record, the space is deleted — the sweep owns the clean-up
    const id = await createSpace('orphan');
    await act(id, 'start');
    await act(id, 'stop');
    const recorded = `debian_${id}_home`;
    await db.store.spaces.markDeleted(id, Date.now() - 60_000);
    // a volume whose name holds a lowercase ULID, as a foreign tool might name one: never knot's
    const foreign = `backup_${newId(Date.now()).toLowerCase()}_data`;
    await nomad.createCsiVolume({ type: 'csi', id: foreign, name: foreign, pluginId: 'hostpath', capacityMin: 1e6, capacityMax: 1e9, capabilities: [{ accessMode: 'single-node-writer', attachmentMode: 'file-system' }] });
    try {
      const result = await temporal.workflow.execute<KnotWorkflows['cleanupSweepWorkflow']>(SWEEP_WORKFLOWS.cleanup, {
        taskQueue,
        workflowId: `cleanup-${newId(Date.now())}`,
        args: [{ jobGraceMs: 0, volumeGraceMs: 0 }],
      });
      expect(result.errors).toEqual([]);
      expect(result.volumes).toMatchObject({ deleted: 1, failed: 0 });
      expect(await nomad.readCsiVolume(recorded)).toBeNull();
      expect((await nomad.readCsiVolume(foreign))?.ID).toBe(foreign);
    } finally {
      await nomad.deleteCsiVolume(foreign);
    }
  });
});
