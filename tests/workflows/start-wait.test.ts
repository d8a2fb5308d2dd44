/**
 * A start's wait until the job is really running tries first as a local activity under a few
 * seconds' deadline (`patched('start-wait-local')`, workflows/lifecycle.ts `waitUntilRunning`) and
 * falls back to the heartbeating wait when the allocation is not healthy by then; a failed
 * allocation is the start's verdict at once. All three on the real Temporal dev server with the
 * Nomad sandbox: the step records, the space's phase and the history's shape.
 */
import { newId } from '../../core/names';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

type Event = { markerRecordedEventAttributes?: { markerName?: string | null } | null; activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null; workflowTaskCompletedEventAttributes?: unknown };

const WAIT_STEP = 'waiting for the allocation to be healthy';

async function startOnce(h: Harness, name: string) {
  const owner = await seedUser(h.store, name);
  const templateName = `debian-${name}`;
  const tpl = await seedTemplate(h.store, { name: templateName, job: seedJob(), volumes: seedVolumes() });
  const spaceId = newId(Date.now());
  await h.lifecycle.createSpace({ spaceId, name, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, templateName);
  const run = async (type: 'start' | 'stop' | 'delete') => {
    const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName });
    const done = await waitForOperation(h.store, op.id);
    const handle = h.client.workflow.getHandle(`space-${spaceId}`);
    await handle.result().catch(() => undefined);
    return { op: done, events: ((await handle.fetchHistory()).events ?? []) as Event[] };
  };
  const began = Date.now();
  const start = await run('start');
  const tookMs = Date.now() - began;
  const steps = await h.store.steps.list(start.op.id);
  const scheduled = start.events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  const workflowTasks = start.events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
  expect(start.events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
  const phase = (await spaceOf(h.store, spaceId)).phase;
  if (phase === 'running') expect((await run('stop')).op.status).toBe('succeeded');
  expect((await run('delete')).op.status).toBe('succeeded');
  return { op: start.op, steps: steps.map((s) => [s.name, s.outcome]), scheduled, workflowTasks, tookMs, phase };
}

describe('start: the wait healthy within the first try', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => {
    await h.close();
  });

  it('is one workflow task and no activity task, with the wait recorded once', async () => {
    const { op, steps, scheduled, workflowTasks, phase } = await startOnce(h, 'startquick');
    expect(op.status).toBe('succeeded');
    expect(phase).toBe('running');
    expect(scheduled).toEqual([]);
    expect(workflowTasks).toBe(1);
    expect(steps.filter(([name]) => name === WAIT_STEP)).toEqual([[WAIT_STEP, 'succeeded']]);
  });

  it('a failed allocation fails the start at once: no heartbeating wait, the job stopped, the volumes deleted', async () => {
    h.sandbox.setFaults({ failAllocations: '.*' });
    try {
      const { op, steps, scheduled, phase } = await startOnce(h, 'startfails');
      expect(op.status).toBe('failed');
      expect(op.errorType).toBe('allocation_failed');
      expect(phase).toBe('stopped');
      // only the compensation's volume deletion is an activity task (as before this change)
      expect(scheduled).toEqual(['deleteSpaceVolume']);
      expect(steps).toContainEqual([WAIT_STEP, 'failed']);
      expect(steps).toContainEqual(['compensating: stopping the job', 'succeeded']);
      expect(h.sandbox.state().jobs).toHaveLength(0);
    } finally {
      h.sandbox.setFaults({});
    }
  });
});

describe('start: an allocation slower than the first try', () => {
  let h: Harness;
  beforeAll(async () => {
    // healthy 7 s after running: past the first try's 4 s deadline
    h = await startHarness('sqlite', { sandbox: { healthyDelayMs: 7_000 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('falls back to the heartbeating wait, which finishes the same step', async () => {
    const { op, steps, scheduled, workflowTasks, tookMs, phase } = await startOnce(h, 'startslow');
    expect(op.status).toBe('succeeded');
    expect(phase).toBe('running');
    expect(scheduled).toEqual(['waitForSpaceRunning']);
    expect(workflowTasks).toBe(2);
    expect(tookMs).toBeGreaterThanOrEqual(6_000);
    expect(steps.filter(([name]) => name === WAIT_STEP)).toEqual([[WAIT_STEP, 'succeeded']]);
  }, 60_000);
});
