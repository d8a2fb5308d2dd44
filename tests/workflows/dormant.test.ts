/**
 * Dormant spaces with an injected clock: the cleanup sweep's dormant part warns the owner a
 * warning period before a stopped space's template `deleteAfter` runs out, then deletes it through
 * the ordinary delete workflow (reason `dormant`) on the shared Temporal dev server and the Nomad
 * sandbox, on every store. The clock starts when the space's last operation finished (real time,
 * written by the workers); the sweep's own clock is injected.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDormantActivities } from '../../activities/sweeps/dormant';
import { newId } from '../../core/names';
import type { DormantSweepResult } from '../../core/sweeps';
import { storeKinds } from '../support/db';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

const H = 3600_000;
const WARN = 72 * H;
const AFTER = 720 * H;

describe.each(storeKinds())('dormant spaces on %s', (kind) => {
  let h: Harness;
  let now = 0;
  let sweep: () => Promise<DormantSweepResult>;

  beforeAll(async () => {
    h = await startHarness(kind, { sweepsThroughTemporal: true });
    const activities = createDormantActivities({ ...h.deps, clock: () => now });
    sweep = () => new MockActivityEnvironment().run(activities.dormantSpacesSweep, { warningMs: WARN });
  });
  afterAll(async () => h?.close());

  async function run(spaceId: string, type: 'start' | 'stop', owner: { id: string; username: string }): Promise<void> {
    const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'dormant' });
    expect((await waitForOperation(h.store, op.id)).status).toBe('succeeded');
  }

  /** created, started (its volumes made) and stopped through the workflows; when it stopped */
  async function usedSpace(owner: { id: string; username: string }, templateId: string, name: string): Promise<{ id: string; since: number }> {
    const id = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId: id, name, ownerId: owner.id, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'dormant');
    await run(id, 'start', owner);
    await run(id, 'stop', owner);
    return { id, since: await stoppedAt(id) };
  }

  async function stoppedAt(id: string): Promise<number> {
    const s = await spaceOf(h.store, id);
    return (await h.store.operations.get(s.lastOperationId!))!.finishedAt!;
  }

  async function storedSpace(ownerId: string, templateId: string, name: string, phase: 'stopped' | 'running'): Promise<string> {
    const id = newId(Date.now());
    await h.store.spaces.insert({ id, name, ownerId, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, Date.now());
    await h.store.spaces.update(id, { phase, startedAt: phase === 'running' ? Date.now() : null, appliedVersion: '1.0.0' }, Date.now());
    return id;
  }

  const opsOf = async (id: string) => (await h.store.operations.listOfSpace(id)).map((o) => o.type);
  const volumesOf = (id: string) => h.sandbox.state().csiVolumes.filter((v) => v.ID.includes(id));

  it('warns, then deletes through the delete workflow; a start resets it; exempt, running and opted-out spaces stay', async () => {
    const owner = await seedUser(h.store, `dormant${kind}`);
    const tpl = await seedTemplate(h.store, { name: 'dormant', job: seedJob(), volumes: seedVolumes(), deleteAfter: '720h' });
    const keeper = await seedTemplate(h.store, { name: 'keeper', job: seedJob(), volumes: seedVolumes() });

    const old = await usedSpace(owner, tpl.id, 'old');
    const reset = await usedSpace(owner, tpl.id, 'reset');
    const exempt = await storedSpace(owner.id, tpl.id, 'exempt', 'stopped');
    await h.store.dormancy.setExempt(exempt, true, Date.now());
    const forever = await storedSpace(owner.id, keeper.id, 'forever', 'stopped');
    const running = await storedSpace(owner.id, tpl.id, 'running', 'running');
    expect(volumesOf(old.id)).not.toHaveLength(0);
    const latest = Date.now();

    // just before the warning period of the oldest: nothing
    now = old.since + AFTER - WARN - 60_000;
    expect(await sweep()).toMatchObject({ warned: 0, deleted: 0, failed: 0 });

    // the warning period of `old`; then of `reset` too: each warned once
    now = old.since + AFTER - WARN;
    expect(await sweep()).toMatchObject({ warned: 1, deleted: 0, failed: 0 });
    now = latest + AFTER - WARN;
    expect(await sweep()).toMatchObject({ warned: 1, deleted: 0, failed: 0 });
    expect(await sweep()).toMatchObject({ warned: 0, deleted: 0, failed: 0 });
    // warned a little late: its deletion is a full warning period after the warning
    expect((await h.store.dormancy.getMany([reset.id])).get(reset.id)).toMatchObject({ warnedSince: reset.since, warnedDeletesAt: now + WARN });
    const events = (await h.store.events.after(0, { limit: 1000, ownerId: owner.id })).map((e) => e.event).filter((e) => e.type === 'space.dormant');
    expect(events.map((e) => e.spaceId).sort()).toEqual([old.id, reset.id].sort());
    expect(events.find((e) => e.spaceId === old.id)?.error?.message).toContain(new Date(old.since + AFTER).toISOString());
    expect(await h.store.audit.list({ resourceId: old.id, action: 'space.dormant', limit: 10 })).toEqual([
      expect.objectContaining({ actor: 'system', outcome: 'ok', detail: { stoppedSince: new Date(old.since).toISOString(), deletesAt: new Date(old.since + AFTER).toISOString() } }),
    ]);

    // `reset` is started and stopped again: a new dormancy period, the old warning no longer counts
    await run(reset.id, 'start', owner);
    await run(reset.id, 'stop', owner);
    const resetSince = await stoppedAt(reset.id);
    expect(resetSince).toBeGreaterThan(reset.since);

    // the old time: `old` goes through the delete workflow, `reset` is only warned for its new period
    now = latest + AFTER;
    expect(await sweep()).toMatchObject({ warned: 1, deleted: 1, failed: 0 });
    const del = (await h.store.operations.listOfSpace(old.id)).find((o) => o.type === 'delete');
    expect(del).toMatchObject({ requestedBy: 'system', reason: 'dormant' });
    expect((await waitForOperation(h.store, del!.id)).status).toBe('succeeded');
    expect((await spaceOf(h.store, old.id)).deletedAt).not.toBeNull();
    expect(volumesOf(old.id)).toEqual([]);
    expect(await h.store.audit.list({ resourceId: old.id, action: 'space.dormant_delete', limit: 10 })).toEqual([
      expect.objectContaining({ outcome: 'ok', detail: expect.objectContaining({ reason: 'dormant', operationId: del!.id }) }),
    ]);
    expect(await opsOf(reset.id)).not.toContain('delete');
    expect((await h.store.dormancy.getMany([reset.id])).get(reset.id)).toMatchObject({ warnedSince: resetSince, warnedDeletesAt: now + WARN });

    // long after: `reset` goes at its new time; the exempt, the opted-out and the running ones never
    now = resetSince + 10 * AFTER;
    expect(await sweep()).toMatchObject({ deleted: 1, failed: 0 });
    expect(await opsOf(reset.id)).toContain('delete');
    for (const id of [exempt, forever, running]) expect(await opsOf(id)).toEqual([]);
    expect((await spaceOf(h.store, running)).phase).toBe('running');
  });
});
