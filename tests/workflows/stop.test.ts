/**
 * A stop tries first as a local activity under a few seconds' deadline (`patched('stop-job-local')`,
 * workflows/lifecycle.ts `stopJob`) and falls back to the heartbeating wait when the allocations are
 * not terminal by then. Both paths on the real Temporal dev server with the Nomad sandbox: the step
 * record, the revoked start token and the history's shape.
 */
import { newId } from '../../core/names';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

type Event = { markerRecordedEventAttributes?: { markerName?: string | null } | null; activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null; workflowTaskCompletedEventAttributes?: unknown };

async function stopOnce(h: Harness, name: string) {
  const owner = await seedUser(h.store, name);
  const tpl = await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
  const spaceId = newId(Date.now());
  await h.lifecycle.createSpace({ spaceId, name, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
  const run = async (type: 'start' | 'stop' | 'delete') => {
    const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
    const done = await waitForOperation(h.store, op.id);
    const handle = h.client.workflow.getHandle(`space-${spaceId}`);
    await handle.result().catch(() => undefined);
    return { op: done, events: ((await handle.fetchHistory()).events ?? []) as Event[] };
  };
  expect((await run('start')).op.status).toBe('succeeded');
  const began = Date.now();
  const stop = await run('stop');
  const tookMs = Date.now() - began;
  expect(stop.op.status).toBe('succeeded');
  expect((await spaceOf(h.store, spaceId)).phase).toBe('stopped');
  expect(h.sandbox.state().jobs).toHaveLength(0);
  // the start token was revoked by the stop: nothing is left to revoke
  expect(await h.store.agentTokens.revokeForSpace(spaceId, 'start')).toBe(0);
  const steps = await h.store.steps.list(stop.op.id);
  expect(steps.map((s) => [s.name, s.outcome])).toEqual([['stopping the job', 'succeeded']]);
  const markers = stop.events.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes?.markerName);
  const scheduled = stop.events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(markers).toContain('core_patch');
  expect((await run('delete')).op.status).toBe('succeeded');
  return { events: stop.events, markers, scheduled, tookMs };
}

describe('stop: first try local', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => {
    await h.close();
  });

  it('a stop that settles within the first try is one workflow task and no activity task', async () => {
    const { events, markers, scheduled } = await stopOnce(h, 'stopquick');
    expect(scheduled).toEqual([]);
    // beginOperation, stopSpaceJob, completeStop
    expect(markers.filter((m) => m === 'core_local_activity')).toHaveLength(3);
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
  });
});

describe('stop: allocations slower than the first try', () => {
  let h: Harness;
  beforeAll(async () => {
    // allocations take 7 s to stop: past the first try's 4 s deadline
    h = await startHarness('sqlite', { sandbox: { stopDelayMs: 7_000 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('falls back to the heartbeating wait, which finishes the same step', async () => {
    const { scheduled, tookMs } = await stopOnce(h, 'stopslow');
    expect(scheduled).toEqual(['stopSpaceJob']);
    expect(tookMs).toBeGreaterThanOrEqual(6_000);
  }, 60_000);
});
