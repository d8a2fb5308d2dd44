/**
 * Determinism guard: histories recorded from real runs of every lifecycle workflow are replayed
 * against the current workflow code. A change to a running workflow's steps that is not behind
 * `patched()` fails here. Record new histories with `KNOT_RECORD_HISTORIES=1 npx jest
 * tests/workflows/replay.test.ts` (after `eval "$(bash scripts/services.sh start)"`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { newId } from '../../core/names';
import { seedJob, seedTemplate, seedUser, seedVolumes, startHarness, waitForOperation } from '../support/harness';

const DIR = path.join(__dirname, 'histories');
const recording = process.env.KNOT_RECORD_HISTORIES === '1';

(recording ? it : it.skip)('records one history per workflow path', async () => {
  const h = await startHarness('sqlite');
  try {
    const owner = await seedUser(h.store, 'replay');
    const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'replay', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
    const save = async (name: string, runId?: string) => {
      const history = await h.client.workflow.getHandle(`space-${spaceId}`, runId).fetchHistory();
      // the message's own toJSON: historyToJSON trips over the second protobufjs copy under @temporalio/common
      writeFileSync(path.join(DIR, `${name}.json`), JSON.stringify(history));
    };
    await save('create');
    const run = async (type: 'start' | 'stop' | 'restart' | 'update' | 'delete', name: string) => {
      const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian', ...(type === 'update' ? { spec: { shell: 'zsh' } } : {}) });
      await waitForOperation(h.store, op.id);
      await save(name);
    };
    await run('start', 'start');
    await run('restart', 'restart-running');
    await run('update', 'update-running');
    h.sandbox.setFaults({ failAllocations: '.*' });
    await run('stop', 'stop');
    await run('start', 'start-compensated');
    h.sandbox.setFaults({});
    await run('delete', 'delete');
  } finally {
    await h.close();
  }
});

/**
 * The shape with step records (`steps-*.json`): activity inputs carry the step, compensations are
 * named, and a start is cancelled while it waits. Recording steps added no command, so the older
 * histories above replay unchanged; these guard the new shape. `KNOT_RECORD_HISTORIES=steps`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'steps' ? it : it.skip)('records the step-recording shape, with a cancelled start', async () => {
  const h = await startHarness('sqlite');
  try {
    const owner = await seedUser(h.store, 'replay');
    await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const tpl = (await h.store.templates.getByName('debian'))!;
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'steps', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
    const save = async (name: string) => {
      // the whole run: the operation is recorded finished a workflow task before the run closes
      const handle = h.client.workflow.getHandle(`space-${spaceId}`);
      await handle.result().catch(() => undefined);
      const history = await handle.fetchHistory();
      writeFileSync(path.join(DIR, `steps-${name}.json`), JSON.stringify(history));
    };
    const run = async (type: 'start' | 'stop' | 'delete', name: string) => {
      const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
      await waitForOperation(h.store, op.id);
      await save(name);
    };
    await run('start', 'start');
    await run('stop', 'stop');
    h.sandbox.setFaults({ pendingAllocations: '.*' });
    const op = await h.lifecycle.startOperation({ spaceId, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
    const deadline = Date.now() + 30_000;
    while (!(await h.store.steps.list(op.id)).some((st) => st.name === 'waiting for the allocation to be healthy')) {
      if (Date.now() > deadline) throw new Error('the start never reached the wait');
      await new Promise((r) => setTimeout(r, 20));
    }
    await h.lifecycle.cancelOperation((await h.store.operations.get(op.id))!);
    expect((await waitForOperation(h.store, op.id)).status).toBe('cancelled');
    await save('start-cancelled');
    h.sandbox.setFaults({});
    await run('delete', 'delete');
  } finally {
    await h.close();
  }
});

/**
 * The shape with volume and job steps as local activities (`patched('nomad-steps-local')`,
 * workflows/lifecycle.ts): a start creates its volume and registers its job inside the first
 * workflow task, a failed start compensates, a delete checks for a job and removes the volumes
 * locally (after a failed start, which leaves its job id recorded, it checks through the wait).
 * `KNOT_RECORD_HISTORIES=local-steps`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'local-steps' ? it : it.skip)('records the local-step shape: start, a compensated start, delete', async () => {
  const h = await startHarness('sqlite');
  try {
    const owner = await seedUser(h.store, 'replay');
    const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const create = async (name: string) => {
      const spaceId = newId(Date.now());
      await h.lifecycle.createSpace({ spaceId, name, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
      return spaceId;
    };
    /** Runs the operation; with a name, saves its history (a stop has no changed step: no patch marker). */
    const run = async (spaceId: string, type: 'start' | 'stop' | 'delete', name: string | null) => {
      const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
      await waitForOperation(h.store, op.id);
      const handle = h.client.workflow.getHandle(`space-${spaceId}`);
      await handle.result().catch(() => undefined);
      if (!name) return;
      const history = await handle.fetchHistory();
      if (type !== 'stop') expect(history.events?.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
      writeFileSync(path.join(DIR, `local-steps-${name}.json`), JSON.stringify(history));
    };
    const first = await create('local');
    await run(first, 'start', 'start');
    await run(first, 'stop', 'stop');
    h.sandbox.setFaults({ failAllocations: '.*' });
    await run(first, 'start', 'start-compensated');
    h.sandbox.setFaults({});
    // a compensated start leaves its job id recorded: the delete makes sure through the wait
    await run(first, 'delete', 'delete-after-failed-start');
    // after a clean stop no job is left: the delete's check runs locally as well
    const second = await create('local2');
    await run(second, 'start', null);
    await run(second, 'stop', null);
    await run(second, 'delete', 'delete');
  } finally {
    await h.close();
  }
});

/**
 * The shape with a stop's first try local (`patched('stop-job-local')`, workflows/lifecycle.ts
 * `stopJob`): a stop, a restart of a running space (stop, then start), a failed start's
 * compensation, a delete of a space a failed start left a job id on, and a stop whose allocations
 * outlast the first try's deadline (the heartbeating wait takes over).
 * `KNOT_RECORD_HISTORIES=stop-local`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'stop-local' ? it : it.skip)('records the local-stop shape: stop, restart, a compensated start, delete with a job left, a slow stop', async () => {
  const record = async (h: Awaited<ReturnType<typeof startHarness>>, script: (run: (type: 'start' | 'stop' | 'restart' | 'delete', name: string | null) => Promise<void>, faults: (f: Parameters<typeof h.sandbox.setFaults>[0]) => void) => Promise<void>) => {
    const owner = await seedUser(h.store, 'replay');
    const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'stoplocal', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
    await script(
      async (type, name) => {
        const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
        await waitForOperation(h.store, op.id);
        const handle = h.client.workflow.getHandle(`space-${spaceId}`);
        await handle.result().catch(() => undefined);
        if (!name) return;
        const history = await handle.fetchHistory();
        const patches = (history.events ?? [])
          .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
          .map((e) => (JSON.parse(Buffer.from(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString('utf8')) as { id: string }).id);
        expect(patches).toContain('stop-job-local');
        writeFileSync(path.join(DIR, `stop-local-${name}.json`), JSON.stringify(history));
      },
      (f) => h.sandbox.setFaults(f),
    );
  };
  const h = await startHarness('sqlite');
  try {
    await record(h, async (run, faults) => {
      await run('start', null);
      await run('stop', 'stop');
      await run('start', null);
      await run('restart', 'restart-running');
      await run('stop', null);
      faults({ failAllocations: '.*' });
      await run('start', 'start-compensated');
      faults({});
      await run('delete', 'delete-after-failed-start');
    });
  } finally {
    await h.close();
  }
  // allocations take 7 s to stop: past the first try's 4 s deadline
  const slow = await startHarness('sqlite', { sandbox: { stopDelayMs: 7_000 } });
  try {
    await record(slow, async (run) => {
      await run('start', null);
      await run('stop', 'stop-fallback');
      await run('delete', null);
    });
  } finally {
    await slow.close();
  }
}, 120_000);

/**
 * The shape with a start's wait tried first locally (`patched('start-wait-local')`,
 * workflows/lifecycle.ts `waitUntilRunning`): a start healthy within the first try, one whose
 * allocation fails (the try's verdict, then the compensating stop), and one healthy only after the
 * first try's deadline (the heartbeating wait takes over). `KNOT_RECORD_HISTORIES=start-wait-local`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'start-wait-local' ? it : it.skip)('records the local start-wait shape: start, a failed allocation, a slow allocation', async () => {
  const record = async (opts: Parameters<typeof startHarness>[1], script: (start: (name: string) => Promise<void>, h: Awaited<ReturnType<typeof startHarness>>) => Promise<void>) => {
    const h = await startHarness('sqlite', opts);
    try {
      const owner = await seedUser(h.store, 'replay');
      const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
      const spaceIds: string[] = [];
      const run = async (spaceId: string, type: 'start' | 'delete') => {
        const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
        await waitForOperation(h.store, op.id);
        const handle = h.client.workflow.getHandle(`space-${spaceId}`);
        await handle.result().catch(() => undefined);
        return handle;
      };
      await script(async (name) => {
        const spaceId = newId(Date.now());
        spaceIds.push(spaceId);
        await h.lifecycle.createSpace({ spaceId, name: `wait${spaceIds.length}`, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
        await h.client.workflow.getHandle(`space-${spaceId}`).result();
        const history = await (await run(spaceId, 'start')).fetchHistory();
        const patches = (history.events ?? [])
          .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
          .map((e) => (JSON.parse(Buffer.from(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString('utf8')) as { id: string }).id);
        expect(patches).toContain('start-wait-local');
        writeFileSync(path.join(DIR, `start-wait-local-${name}.json`), JSON.stringify(history));
      }, h);
      for (const spaceId of spaceIds) await run(spaceId, 'delete');
    } finally {
      await h.close();
    }
  };
  await record({}, async (start, h) => {
    await start('start');
    h.sandbox.setFaults({ failAllocations: '.*' });
    await start('allocation-failed');
    h.sandbox.setFaults({});
  });
  // healthy 7 s after running: past the first try's 4 s deadline
  await record({ sandbox: { healthyDelayMs: 7_000 } }, async (start) => {
    await start('fallback');
  });
}, 120_000);

/**
 * An auto-stop sweep run that takes the autostart path (`patched('auto-stop-sweep-autostart')`,
 * workflows/sweeps.ts): a space due a minute ago is started by the run. `KNOT_RECORD_HISTORIES=sweeps`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'sweeps' ? it : it.skip)('records an auto-stop sweep that autostarts a due space', async () => {
  const h = await startHarness('sqlite', { sweepsThroughTemporal: true });
  try {
    const owner = await seedUser(h.store, 'replay');
    const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'autostart', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
    await h.client.workflow.getHandle(`space-${spaceId}`).result();
    await h.store.autostarts.set(spaceId, { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], at: '09:00', timezone: 'UTC' }, Date.now() - 60_000, Date.now());
    const workflowId = 'knot-auto-stop-sweep-record';
    const result = (await h.client.workflow.execute('autoStopSweepWorkflow', { taskQueue: h.taskQueue, workflowId, args: [{}] })) as { autostart?: { started: number } | null };
    expect(result.autostart).toMatchObject({ due: 1, started: 1, skipped: 0 });
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    writeFileSync(path.join(DIR, 'auto-stop-sweep-autostart.json'), JSON.stringify(history));
    // let the start it began finish before the harness goes away
    await h.client.workflow.getHandle(`space-${spaceId}`).result().catch(() => undefined);
  } finally {
    await h.close();
  }
});

/**
 * A cleanup sweep run that takes the dormant step (`patched('cleanup-sweep-dormant')`,
 * workflows/sweeps.ts): a space of a template with a 1 s `deleteAfter`, stopped since its create,
 * is warned by a first run (warning period 0) and deleted by the recorded second one.
 * `KNOT_RECORD_HISTORIES=sweeps`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'sweeps' ? it : it.skip)('records a cleanup sweep that deletes a dormant space', async () => {
  const h = await startHarness('sqlite', { sweepsThroughTemporal: true });
  try {
    const owner = await seedUser(h.store, 'replay');
    const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes(), deleteAfter: '1s' });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'dormant', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
    await h.client.workflow.getHandle(`space-${spaceId}`).result();
    await new Promise((r) => setTimeout(r, 1500));
    const sweep = async (workflowId: string) =>
      (await h.client.workflow.execute('cleanupSweepWorkflow', { taskQueue: h.taskQueue, workflowId, args: [{ dormantWarningMs: 0 }] })) as { dormant?: { warned: number; deleted: number } | null };
    expect((await sweep('knot-cleanup-sweep-record-warn')).dormant).toMatchObject({ warned: 1, deleted: 0 });
    await new Promise((r) => setTimeout(r, 100));
    const workflowId = 'knot-cleanup-sweep-record';
    expect((await sweep(workflowId)).dormant).toMatchObject({ warned: 0, deleted: 1 });
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    writeFileSync(path.join(DIR, 'cleanup-sweep-dormant.json'), JSON.stringify(history));
    // let the delete it began finish before the harness goes away
    await h.client.workflow.getHandle(`space-${spaceId}`).result().catch(() => undefined);
  } finally {
    await h.close();
  }
});

/**
 * A cleanup sweep run that takes the never-started step (`patched('cleanup-sweep-never-started')`,
 * workflows/sweeps.ts): an operation recorded two minutes ago whose workflow Temporal has never
 * heard of is failed by the run. `KNOT_RECORD_HISTORIES=cleanup-never-started`.
 */
(process.env.KNOT_RECORD_HISTORIES === 'cleanup-never-started' ? it : it.skip)('records a cleanup sweep that fails a never-started operation', async () => {
  const h = await startHarness('sqlite', { sweepsThroughTemporal: true });
  try {
    const spaceId = newId(Date.now());
    const opId = newId(Date.now());
    await h.store.operations.insert({ id: opId, spaceId, type: 'start', requestedBy: 'replay', workflowId: `space-${spaceId}`, deadlineAt: Date.now() + 3600_000 }, Date.now() - 120_000);
    const workflowId = 'knot-cleanup-sweep-never-started-record';
    const result = (await h.client.workflow.execute('cleanupSweepWorkflow', { taskQueue: h.taskQueue, workflowId, args: [{}] })) as { neverStartedOperations?: { markedFailed: number } | null };
    expect(result.neverStartedOperations).toMatchObject({ markedFailed: 1 });
    expect(await h.store.operations.get(opId)).toMatchObject({ status: 'failed', errorType: 'operation_not_started' });
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const patches = (history.events ?? [])
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .map((e) => (JSON.parse(Buffer.from(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString('utf8')) as { id: string }).id);
    expect(patches).toContain('cleanup-sweep-never-started');
    writeFileSync(path.join(DIR, 'cleanup-sweep-never-started.json'), JSON.stringify(history));
  } finally {
    await h.close();
  }
});

it('replays every recorded history against the current workflow code', async () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  expect(files.length).toBeGreaterThanOrEqual(28);
  const histories = files.map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(DIR, f), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: process.env.KNOT_TEST_WORKFLOW_BUNDLE! } }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
