/**
 * A start right after a stop, while Nomad has not yet released the stopped allocation's claim on
 * the space's single-writer CSI volume. Nomad places the job (its own old claim passes), but the new
 * mount races the old unmount: Nomad 1.6 with the CSI hostpath plugin failed such starts ("volume …
 * must be staged before publishing", seen under tests/nomad/chaos.test.ts). The sandbox fails the
 * allocation whenever the stale claim is still held as it starts, so here the claim is released
 * 1.5 s after the stop. knot must wait for the release, not fail the start. Real Temporal dev
 * server, sandbox over HTTP, SQLite.
 */
import { newId } from '../../core/names';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

const CLAIM_RELEASE_MS = 1_500;
let h: Harness;

beforeAll(async () => {
  h = await startHarness('sqlite', { sandbox: { claimReleaseDelayMs: CLAIM_RELEASE_MS } });
});
afterAll(async () => {
  await h.close();
});

async function run(spaceId: string, type: 'start' | 'stop' | 'restart', owner: string) {
  const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner, ownerName: owner, templateName: 'claims' });
  return waitForOperation(h.store, op.id);
}

it('a start right after a stop waits until the old claim is released, and the space comes up', async () => {
  const owner = await seedUser(h.store, 'claims');
  const tpl = await seedTemplate(h.store, { name: 'claims', job: seedJob(), volumes: seedVolumes() });
  const spaceId = newId(Date.now());
  await h.lifecycle.createSpace({ spaceId, name: 'claimed', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'claims');

  expect((await run(spaceId, 'start', owner.id)).status).toBe('succeeded');
  expect((await run(spaceId, 'stop', owner.id)).status).toBe('succeeded');
  // the stopped allocation still holds its claim: the start waits for it instead of racing it
  const claimed = h.sandbox.state().csiVolumes.filter((v) => Object.keys(v.WriteAllocs ?? {}).length > 0);
  expect(claimed.length).toBeGreaterThan(0);
  const started = await run(spaceId, 'start', owner.id);
  expect({ status: started.status, error: started.errorMessage }).toEqual({ status: 'succeeded', error: null });
  expect((await spaceOf(h.store, spaceId)).phase).toBe('running');

  // a restart is a stop and a start inside one operation: the same wait
  const restarted = await run(spaceId, 'restart', owner.id);
  expect({ status: restarted.status, error: restarted.errorMessage }).toEqual({ status: 'succeeded', error: null });
  const running = h.sandbox.state().allocations.filter((a) => a.ClientStatus === 'running');
  expect(running).toHaveLength(1);
});
