/**
 * The seed 000 scenario and the failure cases, on the real Temporal dev server with the Nomad
 * sandbox over HTTP, on SQLite and on MariaDB.
 */
import { newId } from '../../core/names';
import type { KnotWorkflows } from '../../temporal/workflows';
import { until } from '../support/wait';
import { storeKinds } from '../support/db';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

const twoVolumes = (home: boolean, data: boolean) =>
  [
    'volumes:',
    ...(home
      ? ['  - id: "debian_${{.space.id}}_home"', '    plugin_id: "hostpath"', '    capacity_min: 1G', '    capabilities:', '      - access_mode: "single-node-writer"', '        attachment_mode: "file-system"']
      : []),
    ...(data
      ? ['  - id: "debian_${{.space.id}}_data"', '    plugin_id: "hostpath"', '    capacity_min: 2G', '    capabilities:', '      - access_mode: "single-node-writer"', '        attachment_mode: "file-system"']
      : []),
  ].join('\n');

async function createSpace(h: Harness, owner: { id: string; username: string }, templateId: string, name: string) {
  const spaceId = newId(Date.now());
  const { space } = await h.lifecycle.createSpace(
    { spaceId, name, ownerId: owner.id, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id },
    owner.username,
    'debian',
  );
  return space;
}

async function run(h: Harness, spaceId: string, type: 'start' | 'stop' | 'delete' | 'update' | 'restart', owner: string) {
  const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner, ownerName: owner, templateName: 'debian' });
  return waitForOperation(h.store, op.id);
}

describe.each(storeKinds())('space lifecycle on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  it('walks the seed scenario: create, start, stop, template change, update, delete', async () => {
    const owner = await seedUser(h.store, `seed${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });

    const space = await createSpace(h, owner, tpl.id, 'mytest');
    expect(space.phase).toBe('stopped');
    expect(h.sandbox.state().jobs).toHaveLength(0);
    expect(h.sandbox.state().csiVolumes).toHaveLength(0);

    const started = await run(h, space.id, 'start', owner.id);
    expect(started.status).toBe('succeeded');
    let s = await spaceOf(h.store, space.id);
    expect(s.phase).toBe('running');
    expect(s.appliedVersion).toBe('1.0.0');
    expect(s.appliedHash).toBe(tpl.hash);
    const jobId = `mytest-${owner.username}`;
    expect(s.nomadJobId).toBe(jobId);
    const job = h.sandbox.state().jobs.find((j) => j.ID === jobId);
    expect(job?.Meta?.knot_space_id).toBe(space.id);
    expect(h.sandbox.state().csiVolumes.map((v) => v.ID)).toEqual([`debian_${space.id}_home`]);

    const stopped = await run(h, space.id, 'stop', owner.id);
    expect(stopped.status).toBe('succeeded');
    expect(h.sandbox.state().jobs.find((j) => j.ID === jobId)).toBeUndefined();
    expect(h.sandbox.state().csiVolumes.map((v) => v.ID)).toEqual([`debian_${space.id}_home`]);
    expect((await spaceOf(h.store, space.id)).phase).toBe('stopped');

    // the template gains a volume and loses one
    const v2 = await seedTemplate(h.store, { name: 'debian', job: seedJob().replace('debian_${{.space.id}}_home', 'debian_${{.space.id}}_data'), volumes: twoVolumes(false, true) }, '1.1.0');
    expect(v2.hash).not.toBe(tpl.hash);
    const restarted = await run(h, space.id, 'start', owner.id);
    expect(restarted.status).toBe('succeeded');
    s = await spaceOf(h.store, space.id);
    expect(s.appliedVersion).toBe('1.1.0');
    expect(h.sandbox.state().csiVolumes.map((v) => v.ID)).toEqual([`debian_${space.id}_data`]);
    expect((await h.store.volumes.listOfSpace(space.id)).map((v) => v.volumeId)).toEqual([`debian_${space.id}_data`]);

    // delete is refused while running
    const refused = await run(h, space.id, 'delete', owner.id);
    expect(refused.status).toBe('failed');
    expect(refused.errorType).toBe('space_not_stopped');
    expect((await spaceOf(h.store, space.id)).phase).toBe('running');

    expect((await run(h, space.id, 'stop', owner.id)).status).toBe('succeeded');
    const deleted = await run(h, space.id, 'delete', owner.id);
    expect(deleted.status).toBe('succeeded');
    expect(h.sandbox.state().jobs.filter((j) => j.Meta?.knot_space_id === space.id)).toHaveLength(0);
    expect(h.sandbox.state().csiVolumes.filter((v) => v.ID.includes(space.id))).toHaveLength(0);
    expect((await spaceOf(h.store, space.id)).phase).toBe('deleted');
    expect(await h.store.spaces.getByName(owner.id, 'mytest')).toBeNull();
    // the name is free again
    const again = await createSpace(h, owner, tpl.id, 'mytest');
    expect(again.id).not.toBe(space.id);
  });

  it('compensates a failed allocation: no leaked job or volume, pre-existing volumes intact', async () => {
    const owner = await seedUser(h.store, `alloc${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'allocfail', job: seedJob().replace('job "${{.space.name}}-${{.user.username}}"', 'job "af-${{.space.name}}"'), volumes: twoVolumes(true, false) });
    const space = await createSpace(h, owner, tpl.id, 'willfail');
    // first start succeeds so the space owns a home volume with "data"
    expect((await run(h, space.id, 'start', owner.id)).status).toBe('succeeded');
    expect((await run(h, space.id, 'stop', owner.id)).status).toBe('succeeded');
    // the template now adds a data volume; allocations of this job fail
    await seedTemplate(h.store, { name: 'allocfail', job: seedJob().replace('job "${{.space.name}}-${{.user.username}}"', 'job "af-${{.space.name}}"'), volumes: twoVolumes(true, true) }, '1.1.0');
    h.sandbox.setFaults({ failAllocations: '^af-willfail$' });
    const op = await run(h, space.id, 'start', owner.id);
    h.sandbox.setFaults({});
    expect(op.status).toBe('failed');
    expect(op.errorType).toBe('allocation_failed');
    const s = await spaceOf(h.store, space.id);
    expect(s.phase).toBe('stopped');
    expect(s.reason).toBe('StartFailed:allocation_failed');
    expect(s.message).toMatch(/failed/);
    const state = h.sandbox.state();
    expect(state.jobs.filter((j) => j.ID === 'af-willfail')).toHaveLength(0);
    // the volume created by this run is gone; the one the space had before is intact
    expect(state.csiVolumes.map((v) => v.ID).filter((id) => id.includes(space.id))).toEqual([`debian_${space.id}_home`]);
    expect((await h.store.volumes.listOfSpace(space.id)).map((v) => v.volumeId)).toEqual([`debian_${space.id}_home`]);
  });

  it('reports a placement failure and cleans up', async () => {
    const owner = await seedUser(h.store, `place${kind}`);
    // the job mounts a volume the template never defines: Nomad cannot place it
    const job = seedJob().replace('source = "debian_${{.space.id}}_home"', 'source = "missing_${{.space.id}}"');
    const tpl = await seedTemplate(h.store, { name: 'noplace', job: job.replace('job "${{.space.name}}-${{.user.username}}"', 'job "np-${{.space.name}}"'), volumes: seedVolumes() });
    const space = await createSpace(h, owner, tpl.id, 'noplace');
    const op = await run(h, space.id, 'start', owner.id);
    expect(op.status).toBe('failed');
    expect(op.errorType).toBe('placement_failed');
    const state = h.sandbox.state();
    expect(state.jobs.filter((j) => j.ID === 'np-noplace')).toHaveLength(0);
    expect(state.csiVolumes.filter((v) => v.ID.includes(space.id))).toHaveLength(0);
    expect((await spaceOf(h.store, space.id)).phase).toBe('stopped');
  });

  it('refuses a second operation while one runs, naming it', async () => {
    const owner = await seedUser(h.store, `conc${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'slow', job: seedJob().replace('job "${{.space.name}}-${{.user.username}}"', 'job "slow-${{.space.name}}"'), volumes: seedVolumes() });
    const space = await createSpace(h, owner, tpl.id, 'busy');
    // volume creation is slow, so the cancel below lands while Nomad is still creating it: the
    // compensation must wait for that step to finish, or it deletes nothing and the volume leaks
    h.sandbox.setFaults({ pendingAllocations: '^slow-busy$', rules: [{ method: 'PUT', path: '^/v1/volume/csi/[^/]+/create$', latencyMs: 600 }] });
    const first = await h.lifecycle.startOperation({ spaceId: space.id, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'slow' });
    await expect(
      h.lifecycle.startOperation({ spaceId: space.id, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'slow' }),
    ).rejects.toMatchObject({ type: 'operation_in_progress', details: { operationId: first.id } });
    await expect(
      h.lifecycle.startOperation({ spaceId: space.id, type: 'stop', requestedBy: owner.id, ownerName: owner.username, templateName: 'slow' }),
    ).rejects.toMatchObject({ type: 'operation_in_progress' });
    // cancel while the volume is being created: compensation must still run, after that step
    const handle = h.client.workflow.getHandle<KnotWorkflows['startSpaceWorkflow']>(first.workflowId);
    // the step record, not the progress query: the volume step is a local activity (patch
    // nomad-steps-local), and a query waits until the workflow task that runs it has completed
    const seen = await until('the start to reach its volume step', async () => {
      const steps = await h.store.steps.list(first.id);
      return steps.find((st) => st.name.startsWith('creating volume') && st.outcome === 'running') ?? null;
    }, 10_000, 10);
    // the cancel below must land during the step, or the test proves nothing about it
    expect(seen).toMatchObject({ name: expect.stringMatching(/^creating volume /), finishedAt: null });
    await handle.cancel();
    const done = await waitForOperation(h.store, first.id);
    h.sandbox.setFaults({});
    expect(done.status).toBe('cancelled');
    expect(h.sandbox.state().jobs.filter((j) => j.ID === 'slow-busy')).toHaveLength(0);
    // a create still in flight when compensation ran would land later: watch past its latency
    const leakDeadline = Date.now() + 1500;
    let leaked = 0;
    while (Date.now() < leakDeadline && leaked === 0) {
      leaked = h.sandbox.state().csiVolumes.filter((v) => v.ID.includes(space.id)).length;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(leaked).toBe(0);
    expect((await spaceOf(h.store, space.id)).phase).toBe('stopped');
  });

  it('rejects a template that does not render at create time, storing nothing', async () => {
    const owner = await seedUser(h.store, `bad${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'badparse', job: 'job "x-${{.space.name}}" { group "g" { task "t" { driver = "docker" ', volumes: '' });
    const before = (await h.store.spaces.list({ limit: 100_000 })).length;
    await expect(createSpace(h, owner, tpl.id, 'broken')).rejects.toMatchObject({ type: 'template_parse' });
    const after = (await h.store.spaces.list({ limit: 100_000 })).length;
    expect(after).toBe(before);
    expect(h.sandbox.state().jobs.filter((j) => j.ID.startsWith('x-'))).toHaveLength(0);
  });
  it('a job Nomad rejects on register fails the start at once as job_rejected, naming the reason, and compensates', async () => {
    const owner = await seedUser(h.store, `tiny${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'tiny', job: seedJob().replace('memory = 512', 'memory = 5'), volumes: seedVolumes() });
    const space = await createSpace(h, owner, tpl.id, 'tiny');
    const op = await run(h, space.id, 'start', owner.id);
    expect(op).toMatchObject({ status: 'failed', errorType: 'job_rejected' });
    expect(op.errorMessage).toContain('minimum MemoryMB value is 10; got 5');
    // one register attempt: a validation refusal is final, not an outage to retry
    expect(h.sandbox.state().jobs.filter((j) => j.ID === `tiny-${owner.username}`)).toHaveLength(0);
    expect(h.sandbox.state().csiVolumes.filter((v) => v.ID.includes(space.id))).toHaveLength(0);
    expect(await spaceOf(h.store, space.id)).toMatchObject({ phase: 'stopped', reason: 'StartFailed:job_rejected' });
  });

  it('a batch-job space comes up: batch allocations never get deployment health', async () => {
    const owner = await seedUser(h.store, `batch${kind}`);
    const batchJob = seedJob().replace('datacenters = ["dc1"]', 'type = "batch"\n  datacenters = ["dc1"]').replace(/\n {2}update \{[^}]*\}\n/, '\n');
    expect(batchJob).toContain('type = "batch"');
    const tpl = await seedTemplate(h.store, { name: 'batchy', job: batchJob, volumes: seedVolumes() });
    const space = await createSpace(h, owner, tpl.id, 'batchy');
    const op = await run(h, space.id, 'start', owner.id);
    expect(op.status).toBe('succeeded');
    expect((await spaceOf(h.store, space.id)).phase).toBe('running');
    expect(h.sandbox.state().jobs.find((j) => j.ID === `batchy-${owner.username}`)?.Type).toBe('batch');
    expect((await run(h, space.id, 'stop', owner.id)).status).toBe('succeeded');
  });
});
