/**
 * Sweep activities under MockActivityEnvironment (the context a worker gives them: heartbeats,
 * cancellation) on a real SQLite store and a stub Nomad: seconds, no Temporal server, no MariaDB.
 */
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSweepActivities } from '../../../activities/sweeps';
import { NEVER_STARTED_AGE_MS } from '../../../activities/sweeps/never-started-operations';
import type { ActivityDeps } from '../../../activities/deps';
import { newId } from '../../../core/names';
import type { NomadClient } from '../../../nomad/client';
import { KNOT_SPACE_META } from '../../../nomad/meta';
import { createTestStore, type TestStore } from '../../support/db';
import { seedTemplate, seedUser, testSettings } from '../../support/harness';

let testDb: TestStore;
const now = Date.UTC(2026, 5, 1, 12);

beforeAll(async () => {
  testDb = await createTestStore('sqlite');
});
afterAll(() => testDb.cleanup());

function deps(nomad: Partial<NomadClient>, workflows?: ActivityDeps['workflows']): ActivityDeps {
  return { store: testDb.store, nomad: nomad as NomadClient, settings: testSettings, logger: pino({ level: 'silent' }), clock: () => now, ...(workflows ? { workflows } : {}) };
}

async function seedSpace(name: string, phase: 'stopped' | 'running' | 'starting', jobId: string | null = null): Promise<string> {
  const owner = await seedUser(testDb.store, `${name}-owner`);
  const tpl = await seedTemplate(testDb.store, { name: `${name}-tpl`, job: 'job "x" {}', volumes: '' });
  const id = newId(now - 3600_000);
  await testDb.store.spaces.insert({ id, name, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, now - 3600_000);
  await testDb.store.spaces.update(id, { phase, nomadJobId: jobId }, now - 3600_000);
  return id;
}

it('failStuckOperations fails an overdue operation whose workflow is gone, heartbeating its progress', async () => {
  const spaceId = await seedSpace('stuck', 'starting');
  const opId = newId(now - 7200_000);
  await testDb.store.operations.insert({ id: opId, spaceId, type: 'start', requestedBy: 'u', workflowId: `space-${spaceId}`, deadlineAt: now - 60_000 }, now - 7200_000);
  await testDb.store.spaces.update(spaceId, { lastOperationId: opId }, now);
  const asked: string[] = [];
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const acts = createSweepActivities(deps({}, { isRunning: async (op) => (asked.push(op.id), false) }));

  const result = await env.run(acts.failStuckOperations, {});

  expect(result).toEqual({ checked: 1, markedFailed: 1 });
  expect(asked).toEqual([opId]);
  expect(await testDb.store.operations.get(opId)).toMatchObject({ status: 'failed', errorType: 'operation_stuck' });
  expect(await testDb.store.spaces.get(spaceId)).toMatchObject({ phase: 'failed', reason: 'OperationStuck' });
  expect(beats).toContainEqual(result);
});

it('cleanupOrphanJobs purges only marked jobs of spaces that do not own them', async () => {
  const stopped = await seedSpace('orphan', 'stopped');
  const running = await seedSpace('keeper', 'running', 'keep-job');
  const long = 1e6 * (now - 3600_000);
  const jobs = [
    { ID: 'orphan-job', Meta: { [KNOT_SPACE_META]: stopped }, SubmitTime: long },
    { ID: 'keep-job', Meta: { [KNOT_SPACE_META]: running }, SubmitTime: long },
    { ID: 'not-knots', Meta: {}, SubmitTime: long },
    { ID: 'unknown-space', Meta: { [KNOT_SPACE_META]: newId(now) }, SubmitTime: long },
  ];
  const purged: string[] = [];
  const nomad = {
    listJobs: async () => jobs,
    readJob: async () => null,
    deregisterJob: async (id: string) => {
      purged.push(id);
    },
  } as unknown as Partial<NomadClient>;

  const result = await new MockActivityEnvironment().run(createSweepActivities(deps(nomad)).cleanupOrphanJobs, {});

  expect(result).toEqual({ checked: 3, purged: 2, failed: 0 });
  expect(purged.sort()).toEqual(['orphan-job', 'unknown-space']);
});

describe('failNeverStartedOperations', () => {
  /** A `pending` operation without a run, recorded `ageMs` ago, with its deadline an hour later. */
  async function pendingOperation(spaceId: string, ageMs: number): Promise<string> {
    const id = newId(now - ageMs);
    await testDb.store.operations.insert({ id, spaceId, type: 'start', requestedBy: 'u', workflowId: `space-${spaceId}`, deadlineAt: now - ageMs + 3600_000 }, now - ageMs);
    return id;
  }

  it('fails an old pending operation Temporal knows no running workflow of, leaves its space, heartbeats', async () => {
    const spaceId = await seedSpace('never', 'stopped');
    const opId = await pendingOperation(spaceId, NEVER_STARTED_AGE_MS + 1);
    const asked: unknown[] = [];
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const acts = createSweepActivities(deps({}, { isRunning: async (op) => (asked.push(op), false) }));

    const result = await env.run(acts.failNeverStartedOperations, {});

    expect(result).toEqual({ checked: 1, markedFailed: 1, skipped: 0 });
    // asked by the space's workflow id, without a run: the run's memo must name the operation
    expect(asked).toEqual([{ id: opId, workflowId: `space-${spaceId}`, runId: null }]);
    expect(await testDb.store.operations.get(opId)).toMatchObject({ status: 'failed', errorType: 'operation_not_started', finishedAt: now });
    expect((await testDb.store.operations.get(opId))?.errorMessage).toMatch(/never started its workflow/);
    expect(await testDb.store.operations.active(spaceId)).toBeNull();
    expect(await testDb.store.spaces.get(spaceId)).toMatchObject({ phase: 'stopped', reason: '' });
    expect(beats).toContainEqual(result);
  });

  it('leaves an operation whose workflow runs, one Temporal could not be asked about, and a young one', async () => {
    const running = await pendingOperation(await seedSpace('runs', 'stopped'), NEVER_STARTED_AGE_MS + 5_000);
    const unanswered = await pendingOperation(await seedSpace('unanswered', 'stopped'), NEVER_STARTED_AGE_MS + 5_000);
    const young = await pendingOperation(await seedSpace('young', 'stopped'), NEVER_STARTED_AGE_MS - 1_000);
    const asked: string[] = [];
    const acts = createSweepActivities(
      deps({}, {
        isRunning: async (op) => {
          asked.push(op.id);
          if (op.id === unanswered) throw new Error('temporal unavailable');
          return op.id === running;
        },
      }),
    );

    const result = await new MockActivityEnvironment().run(acts.failNeverStartedOperations, { pageSize: 1 });

    expect(result).toEqual({ checked: 2, markedFailed: 0, skipped: 1 });
    expect(asked.sort()).toEqual([running, unanswered].sort());
    for (const id of [running, unanswered, young]) expect(await testDb.store.operations.get(id)).toMatchObject({ status: 'pending', errorType: null });
    for (const id of [running, unanswered, young]) await testDb.store.operations.finish(id, { status: 'cancelled' }, now);
  });

  it('leaves an operation whose workflow began while Temporal was asked', async () => {
    const opId = await pendingOperation(await seedSpace('late', 'stopped'), NEVER_STARTED_AGE_MS + 1);
    const acts = createSweepActivities(
      deps({}, {
        // the run shows up just after Temporal answered: its first step records it
        isRunning: async (op) => (await testDb.store.operations.markRunning(op.id, 'the-run', now), false),
      }),
    );

    expect(await new MockActivityEnvironment().run(acts.failNeverStartedOperations, {})).toEqual({ checked: 1, markedFailed: 0, skipped: 1 });
    expect(await testDb.store.operations.get(opId)).toMatchObject({ status: 'running', runId: 'the-run', errorType: null });
    await testDb.store.operations.finish(opId, { status: 'succeeded' }, now);
  });

  it('without a Temporal client leaves every row (only Temporal can tell a never-started one)', async () => {
    const opId = await pendingOperation(await seedSpace('blind', 'stopped'), NEVER_STARTED_AGE_MS + 1);

    expect(await new MockActivityEnvironment().run(createSweepActivities(deps({})).failNeverStartedOperations, {})).toEqual({ checked: 0, markedFailed: 0, skipped: 0 });
    expect(await testDb.store.operations.get(opId)).toMatchObject({ status: 'pending' });
    await testDb.store.operations.finish(opId, { status: 'cancelled' }, now);
  });
});
