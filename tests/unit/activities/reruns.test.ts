/**
 * The lifecycle's store steps are local activities: when the worker dies before the workflow task
 * records their results, they run again, maybe after the first run has moved the space on. Both
 * cases here were seen on a real Nomad with the worker SIGKILLed (tests/nomad/chaos.test.ts):
 * - an update whose first run had set the space `stopping` ran its begin again, found the space not
 *   running, and ended at once as succeeded, leaving the space `starting` for good;
 * - a start whose first run had recorded a volume but died before Nomad created it planned again,
 *   took the record for the volume, never created it, and failed: the space kept a record of a
 *   volume Nomad never had ("space rk2 lost its volume");
 * - a start's registration run again registered the job with a new agent token, so Nomad replaced
 *   the starting allocation, and the new one's mount raced the old one's unmount.
 * Under MockActivityEnvironment on a real SQLite store and the sandbox (the stores' part is in
 * store conformance).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNomadJobActivities } from '../../../activities/nomad-jobs';
import { createSpaceRecordActivities } from '../../../activities/space-records';
import { newId } from '../../../core/names';
import type { SpacePhase } from '../../../store/model';
import { seedJob, seedTemplate, seedUser, seedVolumes } from '../../support/harness';
import { useActivityStack } from './stack';

// the sandbox too: a plan renders the job, which Nomad parses
const stack = useActivityStack();
let n = 0;

const activities = () => createSpaceRecordActivities(stack.deps());

async function seed(phase: SpacePhase, jobId: string | null, type: 'update' | 'start' | 'delete' | 'stop'): Promise<{ spaceId: string; operationId: string }> {
  const now = Date.now();
  const owner = await seedUser(stack.db.store, `begin${++n}`);
  const tpl = await seedTemplate(stack.db.store, { name: `begin-tpl${n}`, job: seedJob(), volumes: seedVolumes() });
  const spaceId = newId(now);
  await stack.db.store.spaces.insert({ id: spaceId, name: `b${n}`, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, now);
  await stack.db.store.spaces.update(spaceId, { phase, nomadJobId: jobId }, now);
  const operationId = newId(now);
  await stack.db.store.operations.insert({ id: operationId, spaceId, type, requestedBy: owner.id, workflowId: `space-${spaceId}`, deadlineAt: now + 3_600_000 }, now);
  return { spaceId, operationId };
}

const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment().run(fn, ...args) as Promise<R>;

it('an update begun on a running space answers `running` again after its first run set the space stopping', async () => {
  const { spaceId, operationId } = await seed('running', 'job-1', 'update');
  const a = activities();
  expect(await run(a.beginOperation, { operationId, spaceId })).toEqual({ phase: 'running', jobId: 'job-1' });
  // the first run went on: restartRunning set the space stopping, the stop cleared its job
  await run(a.setSpacePhase, { spaceId, phase: 'stopping' });
  await stack.db.store.spaces.update(spaceId, { nomadJobId: null }, Date.now());
  expect(await run(a.beginOperation, { operationId, spaceId })).toEqual({ phase: 'running', jobId: 'job-1' });
  // and it leaves the phase the first run set: its own steps go on from there
  expect((await stack.db.store.spaces.get(spaceId))?.phase).toBe('stopping');
});

it('a delete begun on a stopped space is not refused when it runs again with the space `deleting`', async () => {
  const { spaceId, operationId } = await seed('stopped', null, 'delete');
  const a = activities();
  const input = { operationId, spaceId, phase: 'deleting' as const, requireStopped: true };
  expect(await run(a.beginOperation, input)).toEqual({ phase: 'stopped', jobId: null });
  expect((await stack.db.store.spaces.get(spaceId))?.phase).toBe('deleting');
  expect(await run(a.beginOperation, input)).toEqual({ phase: 'stopped', jobId: null });
});

it('a begin whose operation its first run finished answers how it ended and leaves the space alone', async () => {
  const { spaceId, operationId } = await seed('stopped', null, 'start');
  const a = activities();
  const input = { operationId, spaceId, phase: 'starting' as const, unlessPhase: 'running' as const };
  expect(await run(a.beginOperation, input)).toEqual({ phase: 'stopped', jobId: null });
  await run(a.completeStart, { spaceId, version: '1.0.0', hash: 'h', jobId: 'job-2', finishOperationId: operationId });
  expect(await run(a.beginOperation, input)).toEqual({ phase: 'running', jobId: 'job-2', finished: { status: 'succeeded', errorType: null, errorMessage: null } });
  expect((await stack.db.store.spaces.get(spaceId))?.phase).toBe('running');

  const failed = await seed('running', 'job-3', 'stop');
  await run(a.beginOperation, { ...failed, phase: 'stopping' as const });
  await run(a.finishOperation, { ...failed, status: 'failed', errorType: 'nomad_unavailable', errorMessage: 'no answer' });
  await run(a.setSpacePhase, { spaceId: failed.spaceId, phase: 'failed' });
  expect(await run(a.beginOperation, { ...failed, phase: 'stopping' as const })).toEqual({ phase: 'failed', jobId: 'job-3', finished: { status: 'failed', errorType: 'nomad_unavailable', errorMessage: 'no answer' } });
  expect((await stack.db.store.spaces.get(failed.spaceId))?.phase).toBe('failed');
});

it('a start planned again still creates the volume its first run recorded, and only that start does', async () => {
  const { spaceId, operationId } = await seed('stopped', null, 'start');
  const a = activities();
  const first = await run(a.prepareStart, { spaceId, operationId });
  expect(first.createVolumes.length).toBeGreaterThan(0);
  const volume = first.createVolumes[0]!;
  // the first run recorded the volume (before asking Nomad) and died
  await stack.db.store.volumes.record({ spaceId, volumeId: volume.id, type: volume.type, nomadId: volume.id, createdByOperation: operationId }, Date.now());
  expect((await run(a.prepareStart, { spaceId, operationId })).createVolumes).toEqual(first.createVolumes);
  // for any later operation the record stands for a volume the space has
  expect((await run(a.prepareStart, { spaceId, operationId: newId(Date.now()) })).createVolumes).not.toContainEqual(volume);
});

it('a registration run again leaves the job its operation registered; another operation registers anew', async () => {
  const { spaceId, operationId } = await seed('starting', null, 'start');
  const jobs = createNomadJobActivities(stack.deps());
  const { jobId } = await run(activities().prepareStart, { spaceId, operationId });
  const first = await run(jobs.registerSpaceJob, { spaceId, version: '1.0.0', operationId, jobId });
  expect(first.jobId).toBe(jobId);
  const registered = await stack.nomad.readJob(first.jobId);
  expect(registered?.Meta).toMatchObject({ knot_space_id: spaceId, knot_template_version: '1.0.0', knot_operation_id: operationId });
  // run again (its worker died before the task recorded it), after a restart's stop run again
  // cleared the space's job id: the same job, not registered again, and its id recorded again
  await stack.db.store.spaces.update(spaceId, { nomadJobId: null }, Date.now());
  expect(await run(jobs.registerSpaceJob, { spaceId, version: '1.0.0', operationId, jobId })).toEqual(first);
  expect((await stack.nomad.readJob(first.jobId))?.JobModifyIndex).toBe(registered?.JobModifyIndex);
  expect((await stack.db.store.spaces.get(spaceId))?.nomadJobId).toBe(jobId);
  // another operation's start registers it again, with its own token
  const next = newId(Date.now());
  await run(jobs.registerSpaceJob, { spaceId, version: '1.0.0', operationId: next, jobId });
  const again = await stack.nomad.readJob(first.jobId);
  expect(again?.JobModifyIndex).toBeGreaterThan(registered!.JobModifyIndex!);
  expect(again?.Meta?.knot_operation_id).toBe(next);
});

it('a registration run again for another version (the template changed before it planned again) stops the job its first run registered, then registers', async () => {
  const { spaceId, operationId } = await seed('starting', null, 'start');
  const space = await stack.db.store.spaces.require(spaceId);
  const template = (await stack.db.store.templates.get(space.templateId))!;
  const jobs = createNomadJobActivities(stack.deps());
  const { jobId } = await run(activities().prepareStart, { spaceId, operationId });
  const first = await run(jobs.registerSpaceJob, { spaceId, version: '1.0.0', operationId, jobId });
  await seedTemplate(stack.db.store, { name: template.name, job: seedJob(), volumes: seedVolumes(), description: 'a new version' }, '1.1.0');
  await run(jobs.registerSpaceJob, { spaceId, version: '1.1.0', operationId, jobId });
  const now = await stack.nomad.readJob(first.jobId);
  expect(now?.Meta).toMatchObject({ knot_template_version: '1.1.0', knot_operation_id: operationId });
  // purged and registered anew (version 0), not updated in place over a starting allocation (version 1)
  expect(now?.Version).toBe(0);
});
