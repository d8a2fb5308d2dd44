/**
 * The start's wait (`waitForSpaceRunning`) under MockActivityEnvironment, on a real SQLite store
 * and a real NomadClient talking to the sandbox with Nomad's asynchronous scheduler
 * (`evalDelayMs`): Nomad wakes an allocation query for allocation changes only, so a job the
 * scheduler cannot place must not leave the wait blocked until the query's own timeout.
 */
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../../activities/deps';
import { createNomadJobActivities } from '../../../activities/nomad-jobs';
import { NomadClient } from '../../../nomad/client';
import { startSandbox, type Sandbox } from '../../../nomad/sandbox';
import { createTestStore, type TestStore } from '../../support/db';
import { testSettings } from '../../support/harness';
import { FAST, spaceJobHcl } from '../nomad/helpers';

let testDb: TestStore;
let sandbox: Sandbox;
let nomad: NomadClient;
const EVAL_DELAY_MS = 400;
/** the activity's expected failure is asserted here, not logged */
const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

beforeAll(async () => {
  testDb = await createTestStore('sqlite');
  sandbox = await startSandbox({ ...FAST, evalDelayMs: EVAL_DELAY_MS });
  nomad = new NomadClient({ addr: sandbox.url, timeoutMs: 10_000 });
});
afterAll(async () => {
  await nomad.close();
  await sandbox.close();
  await testDb.cleanup();
});

function activities() {
  const deps: ActivityDeps = { store: testDb.store, nomad, settings: testSettings, logger: pino({ level: 'silent' }), clock: Date.now };
  return createNomadJobActivities(deps);
}

it('ends with placement_failed soon after the scheduler says so, with no allocation change to wake it', async () => {
  // a CSI volume nobody registered: the scheduler cannot place the group
  await nomad.registerJob(await nomad.parseJob(spaceJobHcl('unplaceable', 'no-such-volume')));
  expect((await nomad.jobEvaluations('unplaceable'))[0]?.Status).toBe('pending');
  const t0 = Date.now();
  await expect(env().run(activities().waitForSpaceRunning, { jobId: 'unplaceable', deadline: Date.now() + 60_000 })).rejects.toMatchObject({
    type: 'placement_failed',
    message: expect.stringContaining('no-such-volume'),
  });
  // the allocation query's own wait (5 s) was not sat out: the verdict came at ~0.4 s, the next look within a second of it
  expect(Date.now() - t0).toBeLessThan(4_000);
});

it('still answers the moment the allocation is up when the scheduler is slow', async () => {
  await nomad.registerJob(await nomad.parseJob(spaceJobHcl('placeable')));
  const result = (await env().run(activities().waitForSpaceRunning, { jobId: 'placeable', deadline: Date.now() + 60_000 })) as { allocId: string };
  const allocs = await nomad.jobAllocations('placeable');
  expect(result.allocId).toBe(allocs[0]?.ID);
  expect(allocs[0]).toMatchObject({ ClientStatus: 'running', DeploymentStatus: { Healthy: true } });
});
