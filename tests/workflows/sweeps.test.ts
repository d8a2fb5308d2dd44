/**
 * The Schedules and the sweeps they run, on the shared Temporal dev server with the Nomad sandbox,
 * on SQLite and MariaDB. Each run uses its own schedule ids (and deletes them) so concurrent test
 * files and runs never see each other's schedules.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { newId } from '../../core/names';
import type { SpacePhase } from '../../store/model';
import type { VolumeSpec } from '../../nomad/types';
import { ensureSchedules, type ScheduleSettings } from '../../worker/schedules';
import type { AutoStopSweepResult, CleanupSweepResult } from '../../workflows/sweeps';
import { storeKinds } from '../support/db';
import { until } from '../support/wait';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

const MIN = 60_000;

function foreignJobHcl(jobId: string, meta: Record<string, string> = {}): string {
  const metaBlock = Object.keys(meta).length ? `meta {\n${Object.entries(meta).map(([k, v]) => `    ${k} = "${v}"`).join('\n')}\n  }` : '';
  return `job "${jobId}" {
  datacenters = ["dc1"]
  ${metaBlock}
  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = "debian:bookworm"
      }
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}`;
}

/** A job without knot's meta whose task mounts a CSI volume (a foreign workload claiming it). */
function claimingJobHcl(jobId: string, volumeId: string): string {
  return `job "${jobId}" {
  datacenters = ["dc1"]
  group "g" {
    volume "v" {
      type            = "csi"
      source          = "${volumeId}"
      attachment_mode = "file-system"
      access_mode     = "single-node-writer"
    }
    task "t" {
      driver = "docker"
      config {
        image = "debian:bookworm"
      }
      volume_mount {
        volume      = "v"
        destination = "/data"
      }
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}`;
}

function csiSpec(id: string): VolumeSpec {
  return { type: 'csi', id, name: id, pluginId: 'hostpath', capacityMin: 1e9, capabilities: [{ accessMode: 'single-node-writer', attachmentMode: 'file-system' }] };
}

/** Triggers a schedule now and waits for the sweep it started to finish. */
async function triggerAndWait<T>(client: Client, scheduleId: string): Promise<T> {
  const handle = client.schedule.getHandle(scheduleId);
  const before = (await handle.describe()).info.recentActions.length;
  await handle.trigger();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const actions = (await handle.describe()).info.recentActions;
    const latest = actions.length > before ? actions[actions.length - 1] : undefined;
    if (latest) {
      expect(latest.action.workflow.workflowId.startsWith(`${scheduleId}-sweep`)).toBe(true);
      return client.workflow.getHandle(latest.action.workflow.workflowId, latest.action.workflow.firstExecutionRunId).result() as Promise<T>;
    }
    if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} did not start a sweep`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(storeKinds())('sweeps on %s', (kind) => {
  let h: Harness;
  const suffix = randomBytes(4).toString('hex');
  const ids = { autoStop: `test-auto-stop-${suffix}`, cleanup: `test-cleanup-${suffix}` };
  let settings: ScheduleSettings;

  beforeAll(async () => {
    h = await startHarness(kind, { sweepsThroughTemporal: true });
    // a day apart: the schedules only act when the tests trigger them
    settings = { taskQueue: h.taskQueue, autoStopInterval: '24h', cleanupInterval: '24h', enabled: true, idleTimeout: '0s', deletedRetention: '168h', auditRetention: '720h', ids };
  });
  afterAll(async () => {
    if (h) {
      await ensureSchedules(h.client, { ...settings, enabled: false });
      await h.close();
    }
  });

  /** A space row as a finished start would leave it, without going through Nomad. */
  async function storedSpace(ownerId: string, templateId: string, name: string, phase: SpacePhase, startedAt: number | null = null): Promise<string> {
    const id = newId(Date.now());
    await h.store.spaces.insert({ id, name, ownerId, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, Date.now());
    await h.store.spaces.update(id, { phase, startedAt, appliedVersion: '1.0.0' }, Date.now());
    return id;
  }

  it('creates the schedules once and updates them in place', async () => {
    expect(await ensureSchedules(h.client, { ...settings, autoStopInterval: '12h' })).toEqual({ autoStop: 'created', cleanup: 'created' });
    expect(await ensureSchedules(h.client, settings)).toEqual({ autoStop: 'updated', cleanup: 'updated' });

    const autoStop = await h.client.schedule.getHandle(ids.autoStop).describe();
    expect(autoStop.spec.intervals?.[0]?.every).toBe(24 * 60 * MIN);
    expect(autoStop.policies.overlap).toBe('SKIP');
    expect(autoStop.action).toMatchObject({ type: 'startWorkflow', workflowType: 'autoStopSweepWorkflow', workflowId: `${ids.autoStop}-sweep`, taskQueue: h.taskQueue });
    const cleanup = await h.client.schedule.getHandle(ids.cleanup).describe();
    expect(cleanup.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cleanupSweepWorkflow', workflowId: `${ids.cleanup}-sweep`, taskQueue: h.taskQueue });
    expect(cleanup.action.type === 'startWorkflow' && cleanup.action.args).toEqual([{ deletedRetentionMs: 168 * 60 * MIN, auditRetentionMs: 720 * 60 * MIN }]);
  });

  it('auto-stops a space past its max uptime, skips one with an operation running, leaves the rest', async () => {
    const owner = await seedUser(h.store, `sweeper${kind}`);
    const short = await seedTemplate(h.store, { name: 'short', job: seedJob(), volumes: seedVolumes(), maxUptime: '2m' });
    const open = await seedTemplate(h.store, { name: 'open', job: seedJob(), volumes: seedVolumes() });

    // a real space: created and started through its workflows, then made 3 minutes old
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'due', ownerId: owner.id, templateId: short.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'short');
    const started = await h.lifecycle.startOperation({ spaceId, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'short' });
    expect((await waitForOperation(h.store, started.id)).status).toBe('succeeded');
    const jobId = (await spaceOf(h.store, spaceId)).nomadJobId;
    expect(h.sandbox.state().jobs.some((j) => j.ID === jobId)).toBe(true);
    await h.store.spaces.update(spaceId, { startedAt: Date.now() - 3 * MIN }, Date.now());

    const fresh = await storedSpace(owner.id, open.id, 'fresh', 'running', Date.now() - 60 * MIN);
    const busy = await storedSpace(owner.id, short.id, 'busy', 'running', Date.now() - 10 * MIN);
    // running, as its workflow records it (a pending row without a run would be failed as never
    // started by the sweep's request once it is a few seconds old: temporal/lifecycle-client.ts)
    const busyOp = await h.store.operations.insert({ id: newId(Date.now()), spaceId: busy, type: 'update', requestedBy: owner.id, workflowId: `space-${busy}`, deadlineAt: Date.now() + 60 * MIN }, Date.now());
    await h.store.operations.markRunning(busyOp.id, 'a-run-of-the-update', Date.now());

    const result = await triggerAndWait<AutoStopSweepResult>(h.client, ids.autoStop);
    expect(result).toEqual({ scanned: 3, stopped: 1, skipped: 1, failed: 0, autostart: { due: 0, started: 0, skipped: 0, failed: 0 } });

    const stop = (await h.store.operations.listOfSpace(spaceId)).find((o) => o.type === 'stop');
    expect(stop).toMatchObject({ requestedBy: 'system', reason: 'max uptime' });
    expect((await waitForOperation(h.store, stop!.id)).status).toBe('succeeded');
    expect((await spaceOf(h.store, spaceId)).phase).toBe('stopped');
    expect(h.sandbox.state().jobs.some((j) => j.ID === jobId)).toBe(false);
    expect((await spaceOf(h.store, fresh)).phase).toBe('running');
    expect((await h.store.operations.listOfSpace(fresh)).length).toBe(0);

    const audit = await h.store.audit.list({ action: 'space.auto_stop', limit: 10 });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'system', resourceType: 'space', resourceId: spaceId, outcome: 'ok', detail: { reason: 'max uptime', message: 'auto-stop: max uptime 2m reached', operationId: stop!.id } });
  });

  it('cleans orphan jobs and volumes, fails stuck operations, forgets old deleted spaces; leaves foreign objects', async () => {
    const owner = await seedUser(h.store, `cleaner${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'plain', job: seedJob(), volumes: seedVolumes() });

    // behind knot's back: a job marked for a space the store never heard of, and foreign objects
    const unknownSpace = newId(Date.now() - 60 * MIN);
    await h.nomad.registerJob(await h.nomad.parseJob(foreignJobHcl('orphan-job', { knot_space_id: unknownSpace })));
    await h.nomad.registerJob(await h.nomad.parseJob(foreignJobHcl('foreign-job', { team: 'data' })));
    await h.nomad.createCsiVolume(csiSpec('foreign-data'));
    // named after a knot user, not a space: an id the store knows is never taken for an orphan's
    await h.nomad.createCsiVolume(csiSpec(`shared-${owner.id}`));

    // a volume named like knot's (a lowercase ULID inside) that knot has no record of: never knot's
    const lookalike = `backup_${newId(Date.now() - 60 * MIN)}_data`;
    await h.nomad.createCsiVolume(csiSpec(lookalike));

    // a space deleted an hour ago whose recorded volumes survived: one free, one still claimed by
    // a running allocation (deleting that would destroy its data on Nomad 1.6)
    const deleted = await storedSpace(owner.id, tpl.id, 'gone', 'stopped');
    await h.store.spaces.markDeleted(deleted, Date.now() - 60 * MIN);
    for (const v of [`debian_${deleted}_home`, `debian_${deleted}_extra`]) {
      await h.nomad.createCsiVolume(csiSpec(v));
      await h.store.volumes.record({ spaceId: deleted, volumeId: v, type: 'csi', nomadId: v, createdByOperation: null }, Date.now());
    }
    await h.nomad.registerJob(await h.nomad.parseJob(claimingJobHcl('claimer', `debian_${deleted}_extra`)));
    await until('the claimer holds its volume', async () => Object.keys((await h.nomad.readCsiVolume(`debian_${deleted}_extra`))?.WriteAllocs ?? {}).length > 0);
    // deleted eight days ago, its volume gone from Nomad already: the record goes, then the space
    const ancientWithRecord = await storedSpace(owner.id, tpl.id, 'ancient2', 'stopped');
    await h.store.spaces.markDeleted(ancientWithRecord, Date.now() - 8 * 24 * 60 * MIN);
    await h.store.volumes.record({ spaceId: ancientWithRecord, volumeId: `debian_${ancientWithRecord}_home`, type: 'csi', nomadId: null, createdByOperation: null }, Date.now());

    // a stopped space whose job is still running
    const stopped = await storedSpace(owner.id, tpl.id, 'halted', 'stopped');
    await h.nomad.registerJob(await h.nomad.parseJob(foreignJobHcl('halted-job', { knot_space_id: stopped })));
    // a live space's recorded volume stays
    const live = await storedSpace(owner.id, tpl.id, 'live', 'stopped');
    await h.nomad.createCsiVolume(csiSpec(`debian_${live}_home`));
    await h.store.volumes.record({ spaceId: live, volumeId: `debian_${live}_home`, type: 'csi', nomadId: null, createdByOperation: null }, Date.now());

    // an operation whose workflow never ran, past its deadline, holding its space in `starting`
    const stuckSpace = await storedSpace(owner.id, tpl.id, 'stuck', 'starting');
    const stuckOp = newId(Date.now());
    await h.store.operations.insert({ id: stuckOp, spaceId: stuckSpace, type: 'start', requestedBy: owner.id, workflowId: `space-${stuckSpace}`, deadlineAt: Date.now() - MIN }, Date.now() - 61 * MIN);
    await h.store.spaces.update(stuckSpace, { lastOperationId: stuckOp }, Date.now());

    // recorded two minutes ago, its workflow never started (the API died in between), an hour
    // before its deadline: failed as never started, its space left as it is; one recorded just now
    // (its request may still be starting the workflow) is left
    const neverSpace = await storedSpace(owner.id, tpl.id, 'never', 'stopped');
    const neverOp = newId(Date.now());
    await h.store.operations.insert({ id: neverOp, spaceId: neverSpace, type: 'start', requestedBy: owner.id, workflowId: `space-${neverSpace}`, deadlineAt: Date.now() + 60 * MIN }, Date.now() - 2 * MIN);
    const youngSpace = await storedSpace(owner.id, tpl.id, 'young', 'stopped');
    const youngOp = newId(Date.now());
    await h.store.operations.insert({ id: youngOp, spaceId: youngSpace, type: 'start', requestedBy: owner.id, workflowId: `space-${youngSpace}`, deadlineAt: Date.now() + 60 * MIN }, Date.now());

    // deleted eight days ago: past the 7-day retention
    const old = await storedSpace(owner.id, tpl.id, 'ancient', 'stopped');
    await h.store.spaces.markDeleted(old, Date.now() - 8 * 24 * 60 * MIN);
    await h.store.operations.insert({ id: newId(Date.now()), spaceId: old, type: 'delete', requestedBy: owner.id, workflowId: `space-${old}`, deadlineAt: null }, Date.now());
    const agentState = h.store.agentState(60 * MIN);
    await agentState.report(old, { services: {} }, Date.now());
    // audit entries: one past the 30-day retention, one recent
    const auditMark = `sweep-${kind}-${newId(Date.now())}`;
    const audit = (at: number) => h.store.audit.append({ at, actorId: null, actor: 'system', action: 'test.retention', resourceType: 'test', resourceId: auditMark, outcome: 'ok', detail: {} });
    await audit(Date.now() - 31 * 24 * 60 * MIN);
    await audit(Date.now() - 60 * MIN);

    const result = await triggerAndWait<CleanupSweepResult>(h.client, ids.cleanup);
    expect(result.errors).toEqual([]);
    expect(result.jobs).toMatchObject({ purged: 1, failed: 0 });
    expect(result.volumes).toMatchObject({ deleted: 1, inUse: 1, failed: 0, forgotten: 1, listErrors: [] });
    expect(result.stuckOperations).toMatchObject({ markedFailed: 1 });
    // behind its patch; the stuck operation was failed by the part before, the young one is not looked at
    expect(result.neverStartedOperations).toEqual({ checked: 1, markedFailed: 1, skipped: 0 });
    expect(result.deletedSpaces).toEqual({ purged: 2 });
    expect(result.auditLog?.pruned).toBeGreaterThanOrEqual(1);
    // the dormant part ran (behind its patch); no template here sets deleteAfter
    expect(result.dormant).toMatchObject({ warned: 0, deleted: 0, failed: 0 });
    const left = await h.store.audit.list({ resourceId: auditMark, limit: 10 });
    expect(left.map((e) => Date.now() - e.at < 2 * 60 * MIN)).toEqual([true]);

    const jobs = h.sandbox.state().jobs.map((j) => j.ID);
    expect(jobs).not.toContain('orphan-job');
    expect(jobs).toContain('foreign-job');
    // just registered: left for a later sweep, so a start that has only just registered is not undone
    expect(jobs).toContain('halted-job');
    const volumes = h.sandbox.state().csiVolumes.map((v) => v.ID);
    expect(volumes).not.toContain(`debian_${deleted}_home`);
    expect(volumes).toContain(`debian_${deleted}_extra`);
    // knot never asked Nomad to delete the claimed volume (Nomad 1.6 would wipe its data first)
    expect(h.sandbox.csiVolumeData(`debian_${deleted}_extra`).DataDestroyed).toBe(false);
    expect(volumes).toContain(lookalike);
    expect(volumes).toContain('foreign-data');
    expect(volumes).toContain(`debian_${live}_home`);
    expect(volumes).toContain(`shared-${owner.id}`);

    expect(await h.store.operations.get(stuckOp)).toMatchObject({ status: 'failed', errorType: 'operation_stuck' });
    expect(await spaceOf(h.store, stuckSpace)).toMatchObject({ phase: 'failed', reason: 'OperationStuck' });
    expect(await h.store.operations.get(neverOp)).toMatchObject({ status: 'failed', errorType: 'operation_not_started' });
    expect(await spaceOf(h.store, neverSpace)).toMatchObject({ phase: 'stopped', reason: '' });
    expect(await h.store.operations.get(youngOp)).toMatchObject({ status: 'pending' });
    expect(await h.store.spaces.get(old)).toBeNull();
    expect(await h.store.operations.listOfSpace(old)).toEqual([]);
    expect(await agentState.get(old)).toBeNull();
    expect(await h.store.spaces.get(ancientWithRecord)).toBeNull();
    // kept while it holds a record of a volume Nomad still has
    expect(await h.store.spaces.get(deleted)).not.toBeNull();

    // once past the grace period the stopped space's running job goes too
    const again = await h.client.workflow.execute('cleanupSweepWorkflow', { taskQueue: h.taskQueue, workflowId: `test-cleanup-now-${suffix}-${kind}`, args: [{ jobGraceMs: 0 }] });
    expect((again as CleanupSweepResult).jobs).toMatchObject({ purged: 1 });
    expect(h.sandbox.state().jobs.map((j) => j.ID)).not.toContain('halted-job');
    expect(h.sandbox.state().jobs.map((j) => j.ID)).toContain('foreign-job');
  });
});
