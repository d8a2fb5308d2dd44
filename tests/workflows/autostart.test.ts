/**
 * Auto-start with an injected clock: the autostart sweep activity (as the auto-stop sweep runs it)
 * starts due spaces through the ordinary start workflow on the shared Temporal dev server and the
 * Nomad sandbox, on every store. The owner lives in Europe/Berlin (seedUser).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAutostartActivities } from '../../activities/sweeps/autostart';
import { nextAutostartAt } from '../../core/autostart';
import { newId } from '../../core/names';
import type { AutostartSweepResult } from '../../core/sweeps';
import { storeKinds } from '../support/db';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

const MIN = 60_000;
/** Monday 2025-03-31 09:00 in Berlin (CEST) */
const MONDAY_9 = Date.parse('2025-03-31T07:00:00Z');
const SUNDAY_9 = MONDAY_9 - 24 * 60 * MIN;

describe.each(storeKinds())('autostart on %s', (kind) => {
  let h: Harness;
  let now = 0;
  let sweep: () => Promise<AutostartSweepResult>;

  beforeAll(async () => {
    h = await startHarness(kind, { sweepsThroughTemporal: true });
    const activities = createAutostartActivities({ ...h.deps, clock: () => now });
    sweep = () => new MockActivityEnvironment().run(activities.autostartSweep, {});
  });
  afterAll(async () => h?.close());

  // ids in creation order even within one millisecond: of two spaces due at once, the first made sorts first
  let made = 0;
  async function space(ownerId: string, templateId: string, name: string): Promise<string> {
    const id = newId(Date.now() + made++);
    await h.store.spaces.insert({ id, name, ownerId, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, Date.now());
    return id;
  }

  it('stores autostarts and their due index', async () => {
    const owner = await seedUser(h.store, `auto0${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'auto0', job: seedJob() });
    const a = await space(owner.id, tpl.id, 'a');
    const b = await space(owner.id, tpl.id, 'b');
    await h.store.autostarts.set(a, { days: ['mon'], at: '09:00' }, 1_000, 1);
    await h.store.autostarts.set(b, { days: ['tue'], at: '10:00', timezone: 'UTC' }, 2_000, 1);
    expect(await h.store.autostarts.get(a)).toEqual({ spaceId: a, autostart: { days: ['mon'], at: '09:00' }, nextAt: 1_000 });
    expect((await h.store.autostarts.listDue(1_500, 10)).map((d) => d.spaceId)).toEqual([a]);
    expect((await h.store.autostarts.listDue(2_000, 10)).map((d) => d.spaceId)).toEqual([a, b]);
    expect(await h.store.autostarts.advance(a, 999, 5_000, 2)).toBe(false);
    expect(await h.store.autostarts.advance(a, 1_000, 5_000, 2)).toBe(true);
    expect((await h.store.autostarts.listDue(2_000, 10)).map((d) => d.spaceId)).toEqual([b]);
    await h.store.autostarts.set(b, null, null, 3);
    expect(await h.store.autostarts.listDue(10_000, 10)).toEqual([expect.objectContaining({ spaceId: a, nextAt: 5_000 })]);
    expect([...(await h.store.autostarts.getMany([a, b])).keys()]).toEqual([a]);
    await h.store.autostarts.set(a, null, null, 4);
  });

  it('starts a space due at 09:00 Monday in the owner\'s zone, not on Sunday; skips over quota once per due time', async () => {
    const owner = await seedUser(h.store, `auto1${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'auto1', job: seedJob(), volumes: seedVolumes(), computeUnits: 1, storageUnits: 0 });
    const due = await space(owner.id, tpl.id, 'due');
    const other = await space(owner.id, tpl.id, 'other');
    const autostart = { days: ['mon' as const], at: '09:00' };
    // saved on Sunday morning: next due Monday 09:00 Berlin, not Sunday
    now = SUNDAY_9 - 60 * MIN;
    await h.store.autostarts.set(due, autostart, nextAutostartAt(autostart, now, 'Europe/Berlin'), now);
    await h.store.autostarts.set(other, { days: ['mon'], at: '09:00' }, nextAutostartAt(autostart, now, 'Europe/Berlin'), now);
    expect((await h.store.autostarts.get(due))?.nextAt).toBe(MONDAY_9);

    now = SUNDAY_9 + MIN;
    expect(await sweep()).toEqual({ due: 0, started: 0, skipped: 0, failed: 0 });

    // Monday 09:00: room for one running space only; `due` sorts first and takes it
    await h.store.quotas.setLimits('user', owner.id, { computeUnits: 1 }, now);
    now = MONDAY_9 + 30_000;
    expect(await sweep()).toEqual({ due: 2, started: 1, skipped: 1, failed: 0 });
    const started = (await h.store.operations.listOfSpace(due)).find((o) => o.type === 'start');
    expect(started).toMatchObject({ requestedBy: 'system', reason: 'autostart' });
    expect((await waitForOperation(h.store, started!.id)).status).toBe('succeeded');
    expect((await spaceOf(h.store, due)).phase).toBe('running');

    // the other one is refused by the quota: said in its events and the audit, nothing started
    expect(await h.store.operations.listOfSpace(other)).toEqual([]);
    const events = (await h.store.events.after(0, { limit: 1000, ownerId: owner.id })).map((e) => e.event).filter((e) => e.spaceId === other);
    expect(events.filter((e) => e.type === 'space.autostart_skipped').map((e) => e.error?.message)).toEqual([expect.stringMatching(/quota/i)]);
    const audit = await h.store.audit.list({ resourceId: other, limit: 10 });
    expect(audit).toEqual([expect.objectContaining({ action: 'space.autostart', actor: 'system', outcome: 'refused', detail: expect.objectContaining({ reason: 'autostart', skipped: expect.stringMatching(/quota/i) }) })]);

    // not retried at the next sweep ticks, only at the next due time (a week later)
    now = MONDAY_9 + 5 * MIN;
    expect(await sweep()).toEqual({ due: 0, started: 0, skipped: 0, failed: 0 });
    expect((await h.store.autostarts.get(other))?.nextAt).toBe(MONDAY_9 + 7 * 24 * 60 * MIN);
    expect(await h.store.audit.list({ resourceId: other, limit: 10 })).toHaveLength(1);

    // a week later `due` still runs: skipped as already running, `other` still over quota
    now = MONDAY_9 + 7 * 24 * 60 * MIN + MIN;
    expect(await sweep()).toEqual({ due: 2, started: 0, skipped: 2, failed: 0 });
    const dueAudit = await h.store.audit.list({ resourceId: due, action: 'space.autostart', limit: 10 });
    expect(dueAudit.map((e) => e.outcome)).toEqual(['refused', 'ok']);
    expect(dueAudit[0]!.detail).toMatchObject({ skipped: 'the space is already running' });
  });
});
