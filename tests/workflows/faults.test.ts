/**
 * The lifecycle under faults (issue 5), on the real Temporal dev server with the Nomad sandbox over
 * HTTP, on SQLite and on MariaDB: injected 500s, hung calls, non-retryable Nomad errors, and a
 * worker process killed with SIGKILL mid-start. Every test ends with the same checks: no leaked
 * job, no leaked or duplicated volume, volumes the space had before intact (same Nomad volume,
 * same CreateIndex: not deleted and re-created, so its data survived), the right phase and reason.
 *
 * Nomad failing past the forward retry budget (3 minutes of retries in `nomad` activities) is not
 * waited for here; a 4xx from Nomad takes the same compensation path without the wait (non-
 * retryable), and the resilience suite (tests/resilience) covers long outages.
 */
import { randomBytes } from 'node:crypto';
import { progressQuery } from '../../temporal/workflows';
import { Client } from '@temporalio/client';
import { createLifecycleClient } from '../../temporal/lifecycle-client';
import { LIFECYCLE_WORKFLOWS } from '../../temporal/workflows';
import { newId } from '../../core/names';
import type { LifecycleInput } from '../../core/lifecycle';
import type { OperationRepository, Store } from '../../store/store';
import type { Operation } from '../../store/model';
import { storeKinds, type StoreKind } from '../support/db';
import { seedTemplate, seedUser, spaceOf, startHarness, testSettings, waitForOperation, type Harness } from '../support/harness';
import { workerProcess, type WorkerProcess } from '../support/worker-process';
import { checkInvariants, summary } from '../resilience/invariants';
import { createSpace, homeAndData, homeOnly, jobNamed, jobWithData, loggedNomad, runOp, startOp, until, type CallLog } from '../resilience/support';

const csiVolume = (h: Harness, id: string) => h.sandbox.state().csiVolumes.find((v) => v.ID === id);

/** The end-of-test checks shared by every scenario. */
async function expectConsistent(h: Harness, label: string, spaceIds: string[]) {
  const report = await checkInvariants(h.store, h.sandbox.state(), { spaceIds });
  console.log(summary(`${h.kind} ${label}`, report));
  expect(report.violations).toEqual([]);
  return report;
}

/** A space that has run once, so it owns a home volume with "data"; returns the volume's identity. */
async function spaceWithHome(h: Harness, owner: { id: string; username: string }, templateId: string, templateName: string, name: string) {
  const space = await createSpace(h, owner, templateId, name, templateName);
  expect((await runOp(h, space.id, 'start', owner, templateName)).status).toBe('succeeded');
  expect((await runOp(h, space.id, 'stop', owner, templateName)).status).toBe('succeeded');
  const home = csiVolume(h, `debian_${space.id}_home`);
  expect(home).toBeDefined();
  return { space, homeId: home!.ID, homeCreateIndex: home!.CreateIndex };
}

/** The space's pre-existing volume: its row is still there and so is the very same Nomad volume. */
async function expectHomeIntact(h: Harness, spaceId: string, homeId: string, createIndex: number | null | undefined) {
  const now = csiVolume(h, homeId);
  expect(now).toBeDefined();
  // same CreateIndex: the volume was never deleted and re-created, its data is there
  expect(now!.CreateIndex).toBe(createIndex);
  expect((await h.store.volumes.listOfSpace(spaceId)).map((v) => v.volumeId)).toContain(homeId);
}

describe.each(storeKinds())('lifecycle under Nomad faults on %s', (kind: StoreKind) => {
  let h: Harness;
  let log: CallLog;
  beforeAll(async () => {
    h = await startHarness(kind, { startWorker: false });
    // a short per-call timeout so hung calls fail (retryably) within the test's time
    const logged = loggedNomad(h.sandbox.url, 1500);
    h.deps.nomad = logged.nomad;
    log = logged.log;
    await h.startWorker();
  });
  afterAll(async () => {
    h.sandbox.setFaults({});
    await h.close();
  });

  it('starts and stops through 30% injected 500s on every Nomad endpoint', async () => {
    const owner = await seedUser(h.store, `flaky${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'flaky', job: jobNamed('fl'), volumes: homeOnly() });
    const { space: a, homeId, homeCreateIndex } = await spaceWithHome(h, owner, tpl.id, 'flaky', 'a');
    const b = await createSpace(h, owner, tpl.id, 'b', 'flaky');
    const c = await createSpace(h, owner, tpl.id, 'c', 'flaky');
    const errorsBefore = log.calls.filter((x) => x.status === 500).length;
    const t0 = Date.now();
    h.sandbox.setFaults({ seed: 7, rules: [{ path: '^/v1/', errorRate: 0.3 }] });
    try {
      const starts = await Promise.all([a, b, c].map((s) => runOp(h, s.id, 'start', owner, 'flaky', 90_000)));
      expect(starts.map((o) => o.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const stops = await Promise.all([a, b].map((s) => runOp(h, s.id, 'stop', owner, 'flaky', 90_000)));
      expect(stops.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
      expect((await runOp(h, a.id, 'start', owner, 'flaky', 90_000)).status).toBe('succeeded');
    } finally {
      h.sandbox.setFaults({});
    }
    const injected = log.calls.filter((x) => x.status === 500).length - errorsBefore;
    console.log(`[faults] ${kind} 30% 500s: ${injected} injected errors retried, ${Date.now() - t0} ms`);
    expect(injected).toBeGreaterThan(0);
    expect((await spaceOf(h.store, a.id)).phase).toBe('running');
    expect((await spaceOf(h.store, b.id)).phase).toBe('stopped');
    expect((await spaceOf(h.store, c.id)).phase).toBe('running');
    await expectHomeIntact(h, a.id, homeId, homeCreateIndex);
    for (const s of [a, b, c]) expect((await h.store.volumes.listOfSpace(s.id)).map((v) => v.volumeId)).toEqual([`debian_${s.id}_home`]);
    expect(h.sandbox.state().jobs.filter((j) => /^fl-/.test(j.ID)).map((j) => j.ID).sort()).toEqual(['fl-a', 'fl-c']);
    await expectConsistent(h, '30% 500s', [a.id, b.id, c.id]);
  });

  it('times out a hung job registration, retries it and starts exactly one job', async () => {
    const owner = await seedUser(h.store, `hang${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'hung', job: jobNamed('hg'), volumes: homeOnly() });
    const { space, homeId, homeCreateIndex } = await spaceWithHome(h, owner, tpl.id, 'hung', 'reg');
    const before = log.count('PUT', /^\/v1\/jobs$/);
    const abortedBefore = log.count('PUT', /^\/v1\/jobs$/, 'aborted');
    h.sandbox.setFaults({ rules: [{ method: 'PUT', path: '^/v1/jobs$', hang: true }] });
    const op = await startOp(h, space.id, 'start', owner, 'hung');
    try {
      // two registrations timed out (the first attempt and its retry): Nomad is "back" afterwards
      await until('two timed-out registrations', () => log.count('PUT', /^\/v1\/jobs$/, 'aborted') - abortedBefore >= 2, 30_000);
    } finally {
      h.sandbox.setFaults({});
    }
    const done = await waitForOperation(h.store, op.id, 60_000);
    expect(done.status).toBe('succeeded');
    expect(log.count('PUT', /^\/v1\/jobs$/) - before).toBeGreaterThanOrEqual(3);
    expect(h.sandbox.state().jobs.filter((j) => j.Meta?.knot_space_id === space.id).map((j) => j.ID)).toEqual(['hg-reg']);
    expect((await spaceOf(h.store, space.id)).phase).toBe('running');
    await expectHomeIntact(h, space.id, homeId, homeCreateIndex);
    await expectConsistent(h, 'hung register', [space.id]);
  });

  it('compensates fast when Nomad rejects the job (400, non-retryable): new volume deleted, old one intact', async () => {
    const owner = await seedUser(h.store, `rej${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'rejected', job: jobNamed('rj'), volumes: homeOnly() });
    const { space, homeId, homeCreateIndex } = await spaceWithHome(h, owner, tpl.id, 'rejected', 'four');
    // the template now adds a data volume; Nomad refuses the job
    await seedTemplate(h.store, { name: 'rejected', job: jobWithData('rj'), volumes: homeAndData() }, '1.1.0');
    h.sandbox.setFaults({ rules: [{ method: 'PUT', path: '^/v1/jobs$', errorRate: 1, errorStatus: 400, errorMessage: 'Job validation failed: 1 error occurred: group "debian" has an invalid resource' }] });
    const t0 = Date.now();
    let op: Operation;
    try {
      op = await runOp(h, space.id, 'start', owner, 'rejected', 30_000);
    } finally {
      h.sandbox.setFaults({});
    }
    const took = Date.now() - t0;
    console.log(`[faults] ${kind} 400 on register: failed and compensated in ${took} ms`);
    expect(took).toBeLessThan(20_000);
    expect(op.status).toBe('failed');
    expect(op.errorType).toBe('nomad_request');
    expect(op.errorMessage).toMatch(/Job validation failed/);
    const s = await spaceOf(h.store, space.id);
    expect(s.phase).toBe('stopped');
    expect(s.reason).toBe('StartFailed:nomad_request');
    expect(h.sandbox.state().jobs.filter((j) => j.ID === 'rj-four')).toHaveLength(0);
    expect(csiVolume(h, `debian_${space.id}_data`)).toBeUndefined();
    await expectHomeIntact(h, space.id, homeId, homeCreateIndex);
    expect((await h.store.volumes.listOfSpace(space.id)).map((v) => v.volumeId)).toEqual([`debian_${space.id}_home`]);
    await expectConsistent(h, '400 on register', [space.id]);
  });

  /**
   * Was a BUG (fixed in workflows/activities.ts `waits` + activities/nomad-jobs.ts
   * waitForSpaceRunning): the wait honoured the start timeout only after a successful round of
   * Nomad reads (readJob + watchJobAllocations). When they fail (hung or 5xx), each attempt throws a retryable error
   * before reaching the deadline check, and `waits` has no schedule-to-close budget nor maximum
   * attempts, so the start retries for ever: the space stays `starting`, the operation `running`,
   * and nothing is compensated. Fix: give `waits()` `scheduleToCloseTimeout` (the wait's own
   * budget, e.g. startToCloseMs) and/or check `deps.clock() >= input.deadline` at the top of the
   * loop and when a Nomad read fails (throw the non-retryable StartTimeout there).
   */
  it('honours the start timeout while Nomad reads hang during the wait (compensates)', async () => {
    const owner = await seedUser(h.store, `hw${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'hungwait', job: jobNamed('hw'), volumes: homeOnly(), startTimeout: '3s' });
    const { space, homeId, homeCreateIndex } = await spaceWithHome(h, owner, tpl.id, 'hungwait', 'wait');
    await seedTemplate(h.store, { name: 'hungwait', job: jobWithData('hw'), volumes: homeAndData(), startTimeout: '3s' }, '1.1.0');
    // the wait watches the job's allocations (a blocking query): that call hangs. Compensation
    // reads the same path, so the hang is lifted as soon as the workflow starts compensating.
    h.sandbox.setFaults({ rules: [{ method: 'GET', path: '^/v1/job/hw-wait/allocations$', hang: true }] });
    const op = await startOp(h, space.id, 'start', owner, 'hungwait');
    const handle = h.client.workflow.getHandle(`space-${space.id}`);
    const hangsBefore = log.count('GET', /^\/v1\/job\/hw-wait\/allocations$/, 'aborted');
    let done: Operation;
    try {
      const step = await until(
        'the start to compensate or end',
        async () => {
          const o = await h.store.operations.get(op.id);
          if (o && ['succeeded', 'failed', 'cancelled'].includes(o.status)) return 'ended';
          const p = await handle.query(progressQuery).catch(() => null);
          return p?.step === 'compensating' ? 'compensating' : null;
        },
        30_000,
        100,
      ).catch(() => 'stuck');
      console.log(`[faults] ${kind} hung wait: ${step} after ${log.count('GET', /^\/v1\/job\/hw-wait\/allocations$/, 'aborted') - hangsBefore} timed-out watches`);
      h.sandbox.setFaults({});
      if (step === 'stuck') throw new Error('the start is still waiting 30 s after its 3 s start timeout: the wait retries hung Nomad reads for ever');
      done = await waitForOperation(h.store, op.id, 30_000);
    } finally {
      h.sandbox.setFaults({});
      // should the wait ever hang again, end the workflow so it cannot leak into other tests
      await handle.cancel().catch(() => undefined);
      await waitForOperation(h.store, op.id, 30_000).catch(() => undefined);
    }
    expect(done.status).toBe('failed');
    expect(done.errorType).toBe('start_timeout');
    expect((await spaceOf(h.store, space.id)).reason).toBe('StartFailed:start_timeout');
    expect(h.sandbox.state().jobs.filter((j) => j.ID === 'hw-wait')).toHaveLength(0);
    expect(csiVolume(h, `debian_${space.id}_data`)).toBeUndefined();
    await expectHomeIntact(h, space.id, homeId, homeCreateIndex);
    await expectConsistent(h, 'hung wait', [space.id]);
  });
  /**
   * Was a BUG (fixed in temporal/lifecycle-client.ts): the operation row is
   * inserted (`pending`) before the workflow is started; when the start fails, the catch deletes
   * the row with `deleteOperation`. If the store fails at that moment (MariaDB restarting: the
   * resilience suite's mariadb-restart scenario hit it), the delete throws, the row stays `pending`
   * for ever, and every later operation on the space is refused with `operation_in_progress`
   * naming an operation that never ran, until the cleanup sweep fails it after the 1 h deadline
   * (and then marks the space `failed` although nothing is wrong with it).
   * Fix: (1) in the catch, retry the delete (bounded) and, if it still fails, do not lose the
   * original error; (2) more importantly make the refusal self-healing: when `activeOperation`
   * returns a row still `pending` (never marked running: empty run_id) that is older than a few
   * seconds, ask Temporal whether the space's workflow is running with that operation id (memo);
   * if not, mark the row failed (`operation_not_started`) and go on; (3) the cleanup sweep can
   * treat never-started `pending` rows older than a minute as stuck without waiting for the 1 h
   * deadline, and must not mark the space failed for an operation that never ran.
   */
  it('a store failure while undoing a failed workflow start does not block the space', async () => {
    const owner = await seedUser(h.store, `undo${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'undo', job: jobNamed('ud'), volumes: homeOnly() });
    const space = await createSpace(h, owner, tpl.id, 'undo', 'undo');
    // the store refuses deletes of operation rows (a connection lost at that moment) ...
    let failDeletes = true;
    const real = h.store.operations;
    const flakyOperations: OperationRepository = Object.create(real, {
      delete: { value: (id: string) => (failDeletes ? Promise.reject(new Error('Connection lost: The server closed the connection.')) : real.delete(id)) },
    });
    const flakyDb: Store = Object.create(h.store, { operations: { value: flakyOperations } });
    // ... while Temporal refuses the workflow start (here: an unknown namespace)
    const broken = createLifecycleClient(new Client({ connection: h.client.connection, namespace: 'knot-no-such-namespace' }), flakyDb, { taskQueue: h.taskQueue });
    await expect(broken.startOperation({ spaceId: space.id, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'undo' })).rejects.toBeDefined();
    failDeletes = false;
    const orphan = (await h.store.operations.active(space.id))!;
    expect(orphan).toMatchObject({ status: 'pending', runId: null });
    // everything is healthy again and nothing runs on the space: once the orphan is old enough to
    // be sure no request is still starting it, a start is accepted (the orphan is failed) and succeeds
    const accepted = await until(
      'a start to be accepted',
      () => h.lifecycle.startOperation({ spaceId: space.id, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'undo' }).catch(() => null),
      15_000,
      250,
    );
    const op = await waitForOperation(h.store, accepted.id);
    expect((await h.store.operations.get(orphan.id))!.errorType).toBe('operation_not_started');
    expect(op.status).toBe('succeeded');
    expect((await spaceOf(h.store, space.id)).phase).toBe('running');
    await expectConsistent(h, 'failed start undo', [space.id]);
  });

  /**
   * Was a BUG (the replica tier's stuck operation): an API process killed after recording an
   * operation (`pending`) but before starting its workflow leaves a row nothing will run. The
   * client's retry of the unanswered request, on another replica a few ms later, was refused
   * (`operation_in_progress`, naming that row) because the row was too young to be judged, and
   * nothing failed it before the 1 h deadline. Now the retry looks again until the row is old
   * enough (or its run shows up), fails it as `operation_not_started` and is accepted.
   */
  it('a retry right after an API died between recording an operation and starting its workflow is accepted', async () => {
    const owner = await seedUser(h.store, `orphan${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'orphan', job: jobNamed('or'), volumes: homeOnly() });
    const space = await createSpace(h, owner, tpl.id, 'orphan', 'orphan');
    // what the dead API left: the row, no workflow
    const orphan = await h.store.operations.insert({ id: newId(Date.now()), spaceId: space.id, type: 'start', requestedBy: owner.id, workflowId: `space-${space.id}`, deadlineAt: Date.now() + 3_600_000 }, Date.now());
    const accepted = await h.lifecycle.startOperation({ spaceId: space.id, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'orphan' });
    expect((await h.store.operations.get(orphan.id))!.errorType).toBe('operation_not_started');
    expect((await waitForOperation(h.store, accepted.id)).status).toBe('succeeded');
    await expectConsistent(h, 'orphaned start', [space.id]);
  });

  it('a request meeting a young operation whose workflow is still being started is refused once the run shows up', async () => {
    const owner = await seedUser(h.store, `racing${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'racing', job: jobNamed('ra'), volumes: homeOnly() });
    const space = await createSpace(h, owner, tpl.id, 'racing', 'racing');
    // another replica's request in the middle of its start: recorded, its workflow started 300 ms later
    const first = await h.store.operations.insert({ id: newId(Date.now()), spaceId: space.id, type: 'start', requestedBy: owner.id, workflowId: `space-${space.id}`, deadlineAt: Date.now() + 3_600_000 }, Date.now());
    const input: LifecycleInput = { spaceId: space.id, operationId: first.id, type: 'start', requestedBy: owner.id };
    const started = new Promise((r) => setTimeout(r, 300)).then(() =>
      h.client.workflow.start(LIFECYCLE_WORKFLOWS.start, { taskQueue: h.taskQueue, workflowId: first.workflowId, args: [input], memo: { operationId: first.id, type: 'start' } }),
    );
    await expect(h.lifecycle.startOperation({ spaceId: space.id, type: 'stop', requestedBy: owner.id, ownerName: owner.username, templateName: 'racing' })).rejects.toMatchObject({
      type: 'operation_in_progress',
      details: { operationId: first.id },
    });
    await started;
    expect((await waitForOperation(h.store, first.id)).status).toBe('succeeded');
    await expectConsistent(h, 'racing start', [space.id]);
  });
});

/**
 * A real `knot worker` child process SIGKILLed in the middle of a start. Allocations take a few
 * seconds to run (allocRunningDelayMs) so the start is reliably mid-wait when the worker dies.
 * The wait activity heartbeats every poll; its heartbeat timeout (15 s) makes Temporal retry it
 * on the restarted worker.
 *
 * Note: the sandbox decides an allocation's fate once, when it is due to run; an allocation kept
 * pending by `pendingAllocations` stays pending after the fault is cleared. So the "resume and
 * succeed" variant uses the run delay, and the "compensation" variant keeps the allocation pending
 * past a short start timeout.
 */
/** Until the workflow's activity `name` has started on a worker and heartbeated (so it is mid-wait). */
async function waitActivityHeartbeating(h: Harness, spaceId: string, name: string): Promise<void> {
  const handle = h.client.workflow.getHandle(`space-${spaceId}`);
  await until(
    `${name} heartbeating`,
    async () => {
      const { raw } = await handle.describe();
      // state 2 = PENDING_ACTIVITY_STATE_STARTED
      return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === name && Number(a.state) === 2 && (a.heartbeatDetails?.payloads?.length ?? 0) > 0);
    },
    30_000,
    50,
  );
}

/** Waits for the operation; when it does not end, says where the workflow is stuck (and the worker's last output). */
async function waitOrExplain(h: Harness, spaceId: string, operationId: string, worker: WorkerProcess, timeoutMs: number): Promise<Operation> {
  try {
    return await waitForOperation(h.store, operationId, timeoutMs);
  } catch (e) {
    const { raw } = await h.client.workflow.getHandle(`space-${spaceId}`).describe();
    const pending = (raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} state=${String(a.state)} attempt=${a.attempt} lastFailure=${a.lastFailure?.message ?? '-'}`);
    console.log(`[faults] ${h.kind} stuck operation: pending activities: ${pending.join(' | ') || 'none'}; workflow task: ${JSON.stringify(raw.pendingWorkflowTask ?? null)}\nworker output:\n${worker.output().slice(-3000)}`);
    throw e;
  }
}

describe.each(storeKinds())('a worker process killed mid-start on %s', (kind: StoreKind) => {
  // past a start's first try of the wait (4 s, local, no heartbeats; workflows/lifecycle.ts
  // `waitUntilRunning`), so the heartbeating wait has taken over and heartbeats when the worker dies
  const RUN_DELAY_MS = 10_000;
  let h: Harness;
  let worker: WorkerProcess;
  beforeAll(async () => {
    h = await startHarness(kind, { startWorker: false, sandbox: { allocRunningDelayMs: RUN_DELAY_MS } });
    worker = workerProcess({
      taskQueue: h.taskQueue,
      temporalAddress: process.env.KNOT_TEST_TEMPORAL_ADDRESS!,
      nomadAddr: h.sandbox.url,
      storeEnv: h.testStore.env,
      encryptKey: testSettings.encryptKey,
      nomadTimeout: '3s',
    });
    await worker.start();
  });
  afterAll(async () => {
    h?.sandbox.setFaults({});
    await worker?.stop();
    await h?.close();
  });

  const tag = () => randomBytes(2).toString('hex');

  it('resumes the start on the restarted worker: running, one job, no duplicate volume', async () => {
    const owner = await seedUser(h.store, `crash${kind}${tag()}`);
    const tpl = await seedTemplate(h.store, { name: 'crash', job: jobNamed('cr'), volumes: homeOnly() });
    const { space, homeId, homeCreateIndex } = await spaceWithHome(h, owner, tpl.id, 'crash', 'resume');
    await seedTemplate(h.store, { name: 'crash', job: jobWithData('cr'), volumes: homeAndData() }, '1.1.0');
    const t0 = Date.now();
    const op = await startOp(h, space.id, 'start', owner, 'crash');
    // mid-wait: the job is registered, its allocation pending, the wait activity heartbeating
    await waitActivityHeartbeating(h, space.id, 'waitForSpaceRunning');
    expect(h.sandbox.state().allocations.some((a) => a.JobID === 'cr-resume' && a.ClientStatus === 'pending')).toBe(true);
    await worker.kill();
    const killedAt = Date.now() - t0;
    await worker.start();
    const done = await waitOrExplain(h, space.id, op.id, worker, 90_000);
    console.log(`[faults] ${kind} SIGKILL mid-wait: killed at ${killedAt} ms, start ${done.status} after ${Date.now() - t0} ms`);
    expect(done.status).toBe('succeeded');
    // the wait was resumed only after the 15 s heartbeat timeout: it really was mid-activity
    expect(Date.now() - t0).toBeGreaterThan(14_000);
    const s = await spaceOf(h.store, space.id);
    expect(s.phase).toBe('running');
    expect(s.appliedVersion).toBe('1.1.0');
    expect(h.sandbox.state().jobs.filter((j) => j.Meta?.knot_space_id === space.id).map((j) => j.ID)).toEqual(['cr-resume']);
    expect(h.sandbox.state().csiVolumes.filter((v) => v.ID.includes(space.id)).map((v) => v.ID).sort()).toEqual([`debian_${space.id}_data`, `debian_${space.id}_home`]);
    expect((await h.store.volumes.listOfSpace(space.id)).map((v) => v.volumeId)).toEqual([`debian_${space.id}_data`, `debian_${space.id}_home`]);
    await expectHomeIntact(h, space.id, homeId, homeCreateIndex);
    await expectConsistent(h, 'SIGKILL mid-start', [space.id]);
  });

  it('compensates on the restarted worker when the start timed out while it was dead', async () => {
    const owner = await seedUser(h.store, `comp${kind}${tag()}`);
    const tpl = await seedTemplate(h.store, { name: 'crashcomp', job: jobNamed('cc'), volumes: homeOnly() });
    const { space, homeId, homeCreateIndex } = await spaceWithHome(h, owner, tpl.id, 'crashcomp', 'comp');
    await seedTemplate(h.store, { name: 'crashcomp', job: jobWithData('cc'), volumes: homeAndData(), startTimeout: '9s' }, '1.1.0');
    h.sandbox.setFaults({ pendingAllocations: '^cc-comp$' });
    const t0 = Date.now();
    const op = await startOp(h, space.id, 'start', owner, 'crashcomp');
    let done: Operation;
    try {
      await waitActivityHeartbeating(h, space.id, 'waitForSpaceRunning');
      await worker.kill();
      // restarted at once: the wait is retried only after its 15 s heartbeat timeout, long after
      // the 9 s start timeout, so compensation is due when the new worker picks the start up
      await worker.start();
      done = await waitOrExplain(h, space.id, op.id, worker, 90_000);
    } finally {
      h.sandbox.setFaults({});
    }
    console.log(`[faults] ${kind} SIGKILL then compensation: ${done.status}/${done.errorType} after ${Date.now() - t0} ms`);
    expect(done.status).toBe('failed');
    expect(done.errorType).toBe('start_timeout');
    const s = await spaceOf(h.store, space.id);
    expect(s.phase).toBe('stopped');
    expect(s.reason).toBe('StartFailed:start_timeout');
    expect(h.sandbox.state().jobs.filter((j) => j.ID === 'cc-comp')).toHaveLength(0);
    expect(csiVolume(h, `debian_${space.id}_data`)).toBeUndefined();
    await expectHomeIntact(h, space.id, homeId, homeCreateIndex);
    expect((await h.store.volumes.listOfSpace(space.id)).map((v) => v.volumeId)).toEqual([`debian_${space.id}_home`]);
    await expectConsistent(h, 'SIGKILL then compensation', [space.id]);
  });
});
