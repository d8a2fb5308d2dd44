import type { NomadClient } from '../../../nomad/client';
import { NomadError } from '../../../nomad/errors';
import { allAllocationsTerminal, spaceAllocationStatus, type SpaceAllocationStatus } from '../../../nomad/health';
import type { Sandbox } from '../../../nomad/sandbox';
import { csiVolume, sandboxWithClient, spaceJobHcl, waitFor } from './helpers';

let sandbox: Sandbox;
let client: NomadClient;

beforeAll(async () => {
  ({ sandbox, client } = await sandboxWithClient());
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.reset();
  sandbox.setFaults({});
});

async function status(jobId: string): Promise<SpaceAllocationStatus> {
  const job = await client.readJob(jobId);
  if (!job) throw new Error(`job ${jobId} missing`);
  return spaceAllocationStatus(job, await client.jobAllocations(jobId), await client.jobEvaluations(jobId));
}

async function start(jobId: string, volumeId?: string): Promise<void> {
  await client.registerJob(await client.parseJob(spaceJobHcl(jobId, volumeId)));
}

it('register → pending → running → healthy, claiming its volume', async () => {
  await client.createCsiVolume(csiVolume('home-1'));
  await start('space-1', 'home-1');
  const first = await client.jobAllocations('space-1');
  // 20 ms to running: under a loaded test runner the first read may already see it running.
  expect(['pending', 'running']).toContain(first[0]?.ClientStatus);

  const up = await waitFor(() => status('space-1'), (s) => s.state !== 'starting');
  expect(up).toEqual({ state: 'up', allocId: first[0]?.ID });
  const alloc = await client.readAllocation(first[0]?.ID ?? '');
  expect(alloc).toMatchObject({ DesiredStatus: 'run', ClientStatus: 'running', DeploymentStatus: { Healthy: true } });
  expect(alloc?.TaskStates?.ide?.State).toBe('running');
  expect((await client.readJob('space-1'))?.Status).toBe('running');

  const vol = await client.readCsiVolume('home-1');
  expect(Object.keys(vol?.WriteAllocs ?? {})).toEqual([alloc?.ID]);
  expect(vol?.Allocations?.map((a) => a.ID)).toEqual([alloc?.ID]);
});

it('stop → delete volume is in use until claims are released, then succeeds', async () => {
  await client.createCsiVolume(csiVolume('home-2'));
  await start('space-2', 'home-2');
  await waitFor(() => status('space-2'), (s) => s.state === 'up');

  await client.deregisterJob('space-2', { purge: true });
  expect(await client.readJob('space-2')).toBeNull();
  const allocs = await waitFor(() => client.jobAllocations('space-2'), allAllocationsTerminal);
  expect(allocs[0]).toMatchObject({ DesiredStatus: 'stop', ClientStatus: 'complete' });

  const inUse: unknown = await client.deleteCsiVolume('home-2').catch((e: unknown) => e);
  expect(inUse).toBeInstanceOf(NomadError);
  expect(inUse).toMatchObject({ type: 'nomad_volume_in_use', retryable: true, nomadStatus: 500, nomadMessage: 'volume in use: home-2' });

  await waitFor(
    () => client.deleteCsiVolume('home-2').then(() => true, (e: unknown) => (e instanceof NomadError && e.retryable ? false : Promise.reject(e))),
    (done) => done,
  );
  expect(await client.readCsiVolume('home-2')).toBeNull();
});

it('a missing CSI volume blocks placement; creating it unblocks the job', async () => {
  await start('space-3', 'not-there');
  const failed = await status('space-3');
  expect(failed).toEqual({ state: 'placement_failed', reason: 'group space: missing CSI Volume not-there' });
  expect(await client.jobAllocations('space-3')).toEqual([]);
  expect((await client.readJob('space-3'))?.Status).toBe('pending');
  const evals = await client.jobEvaluations('space-3');
  expect(evals.map((e) => e.Status)).toEqual(['blocked', 'complete']);
  expect(evals[1]?.BlockedEval).toBe(evals[0]?.ID);

  await client.createCsiVolume(csiVolume('not-there'));
  await waitFor(() => status('space-3'), (s) => s.state === 'up');
});

it('a single-node-writer volume claimed by another job does not place', async () => {
  await client.createCsiVolume(csiVolume('shared'));
  await start('owner', 'shared');
  await start('intruder', 'shared');
  const s = await status('intruder');
  expect(s).toEqual({ state: 'placement_failed', reason: 'group space: CSI volume shared has exhausted its available writer claims' });
});

it('failAllocations makes allocations fail; pendingAllocations keeps them pending', async () => {
  sandbox.setFaults({ failAllocations: '^doomed-', pendingAllocations: '^stuck-' });
  await start('doomed-1');
  await start('stuck-1');
  await start('fine-1');
  const failed = await waitFor(() => status('doomed-1'), (s) => s.state !== 'starting');
  expect(failed).toMatchObject({ state: 'failed', reason: expect.stringContaining('simulated driver failure') });
  await waitFor(() => status('fine-1'), (s) => s.state === 'up');
  const stuck = await client.jobAllocations('stuck-1');
  expect(stuck[0]?.ClientStatus).toBe('pending');
  expect((await status('stuck-1')).state).toBe('starting');
});

it('re-registering a changed job replaces the allocation; deregister without purge ends dead', async () => {
  await start('space-4');
  const before = await waitFor(() => status('space-4'), (s) => s.state === 'up');
  const job = await client.readJob('space-4');
  if (!job) throw new Error('job missing');
  await client.registerJob({ ...job, Meta: { ...job.Meta, rev: '2' } });
  const after = await waitFor(() => status('space-4'), (s) => s.state === 'up' && s.allocId !== (before.state === 'up' ? before.allocId : ''));
  expect(after.state).toBe('up');
  expect((await client.readJob('space-4'))?.Version).toBe(1);

  await client.deregisterJob('space-4');
  await waitFor(() => client.readJob('space-4'), (j) => j?.Status === 'dead' && j.Stop === true);
  expect(allAllocationsTerminal(await client.jobAllocations('space-4'))).toBe(true);
});
