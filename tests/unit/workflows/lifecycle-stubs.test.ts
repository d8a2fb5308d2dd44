/**
 * The start workflow's logic against stub activities on Temporal's time-skipping test server (the
 * `temporal-test-server` binary the project installs): seconds, no database, no Nomad. The
 * integration tests (tests/workflows) run the same workflows against real activities.
 */
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { KnotActivities } from '../../../activities';
import type { LifecycleInput } from '../../../core/lifecycle';
import { ensureTemporalBinary } from '../../../temporal/binary';
import { LIFECYCLE_WORKFLOWS, type KnotWorkflows } from '../../../temporal/workflows';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const bin = await ensureTemporalBinary('temporal-test-server');
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: bin } } });
});

afterAll(async () => {
  await env?.teardown();
});

type Calls = { name: string; input: unknown }[];

/** Stub activities recording every call; `overrides` replace single steps. */
function stubs(calls: Calls, overrides: Partial<Record<keyof KnotActivities, (input: never) => Promise<unknown>>> = {}): Partial<KnotActivities> {
  const record = (name: string, result: unknown) => async (input: unknown) => {
    calls.push({ name, input });
    const override = (overrides as Record<string, ((i: unknown) => Promise<unknown>) | undefined>)[name];
    return override ? override(input) : result;
  };
  return {
    beginOperation: record('beginOperation', { phase: 'stopped' }),
    prepareStart: record('prepareStart', { kind: 'nomad', version: '1.0.0', hash: 'h', jobId: 'job-1', createVolumes: [{ id: 'vol-1', type: 'csi' }], removeVolumes: [], startTimeoutMs: 60_000, agentUrl: null }),
    createSpaceVolume: record('createSpaceVolume', { created: true }),
    registerSpaceJob: record('registerSpaceJob', { jobId: 'job-1' }),
    waitForSpaceRunning: record('waitForSpaceRunning', { allocId: 'alloc-1' }),
    stopSpaceJob: record('stopSpaceJob', { stopped: 1 }),
    deleteSpaceVolume: record('deleteSpaceVolume', { deleted: true }),
    completeStart: record('completeStart', undefined),
    setSpacePhase: record('setSpacePhase', undefined),
    finishOperation: record('finishOperation', undefined),
  } as unknown as Partial<KnotActivities>;
}

async function runStart(calls: Calls, overrides: Parameters<typeof stubs>[1] = {}) {
  const taskQueue = `stub-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve(path.join(__dirname, '..', '..', '..', 'workflows')),
    activities: stubs(calls, overrides),
  });
  const input: LifecycleInput = { spaceId: 's1', operationId: 'op1', type: 'start', requestedBy: 'u1' };
  return worker.runUntil(
    env.client.workflow
      .execute<KnotWorkflows['startSpaceWorkflow']>(LIFECYCLE_WORKFLOWS.start, { taskQueue, workflowId: `space-s1-${taskQueue}`, args: [input] })
      .then((r) => ({ ok: true as const, result: r }), (e: unknown) => ({ ok: false as const, error: e })),
  );
}

it('starts a space: volume, job, wait, record (finishing the operation with the record)', async () => {
  const calls: Calls = [];
  const out = await runStart(calls);
  expect(out).toEqual({ ok: true, result: { spaceId: 's1', operationId: 'op1', phase: 'running' } });
  expect(calls.map((c) => c.name)).toEqual(['beginOperation', 'prepareStart', 'createSpaceVolume', 'registerSpaceJob', 'waitForSpaceRunning', 'completeStart']);
  expect(calls.at(-1)!.input).toMatchObject({ finishOperationId: 'op1', jobId: 'job-1' });
});

it('compensates in reverse when the space never becomes healthy, and records StartFailed:<type>', async () => {
  const calls: Calls = [];
  const out = await runStart(calls, {
    waitForSpaceRunning: async () => {
      throw ApplicationFailure.create({ type: 'start_timeout', message: 'not healthy in time', nonRetryable: true });
    },
  });
  expect(out.ok).toBe(false);
  const names = calls.map((c) => c.name);
  // the first try's own (shorter) deadline is not the start's: the heartbeating wait takes over
  // with the full deadline, and only its verdict ends the start (workflows/lifecycle.ts waitUntilRunning)
  const waits = calls.filter((c) => c.name === 'waitForSpaceRunning').map((c) => (c.input as { deadline: number }).deadline);
  expect(waits).toHaveLength(2);
  expect(waits[0]!).toBeLessThan(waits[1]!);
  expect(names.slice(names.lastIndexOf('waitForSpaceRunning') + 1)).toEqual(['stopSpaceJob', 'deleteSpaceVolume', 'setSpacePhase', 'finishOperation']);
  // only the volume this run created is deleted
  expect(calls.find((c) => c.name === 'deleteSpaceVolume')!.input).toMatchObject({ volumeId: 'vol-1', onlyIfCreatedBy: 'op1' });
  expect(calls.find((c) => c.name === 'setSpacePhase')!.input).toMatchObject({ phase: 'stopped', reason: 'StartFailed:start_timeout' });
  expect(calls.at(-1)!.input).toMatchObject({ status: 'failed', errorType: 'start_timeout', errorMessage: 'not healthy in time' });
});

it('records compensation_incomplete when undoing fails too', async () => {
  const calls: Calls = [];
  const out = await runStart(calls, {
    registerSpaceJob: async () => {
      throw ApplicationFailure.create({ type: 'conflict', message: 'job belongs to another space', nonRetryable: true });
    },
    deleteSpaceVolume: async () => {
      throw ApplicationFailure.create({ type: 'conflict', message: 'cannot delete', nonRetryable: true });
    },
  });
  expect(out.ok).toBe(false);
  expect(calls.find((c) => c.name === 'setSpacePhase')!.input).toMatchObject({ phase: 'failed', reason: 'CompensationIncomplete' });
  expect(calls.at(-1)!.input).toMatchObject({ status: 'failed', errorType: 'conflict' });
});
