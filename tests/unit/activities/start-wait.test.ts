/**
 * The start's wait (`waitForSpaceRunning`) under MockActivityEnvironment, on a real SQLite store
 * and a real NomadClient talking to the sandbox with Nomad's asynchronous scheduler
 * (`evalDelayMs`): Nomad wakes an allocation query for allocation changes only, so a job the
 * scheduler cannot place must not leave the wait blocked until the query's own timeout.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createNomadJobActivities } from '../../../activities/nomad-jobs';
import { FAST, spaceJobHcl } from '../nomad/helpers';
import { useActivityStack } from './stack';

const EVAL_DELAY_MS = 400;
const stack = useActivityStack({ ...FAST, evalDelayMs: EVAL_DELAY_MS });
/** the activity's expected failure is asserted here, not logged */
const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

const activities = () => createNomadJobActivities(stack.deps());

it('ends with placement_failed soon after the scheduler says so, with no allocation change to wake it', async () => {
  // a CSI volume nobody registered: the scheduler cannot place the group
  await stack.nomad.registerJob(await stack.nomad.parseJob(spaceJobHcl('unplaceable', 'no-such-volume')));
  expect((await stack.nomad.jobEvaluations('unplaceable'))[0]?.Status).toBe('pending');
  const t0 = Date.now();
  await expect(env().run(activities().waitForSpaceRunning, { jobId: 'unplaceable', deadline: Date.now() + 60_000 })).rejects.toMatchObject({
    type: 'placement_failed',
    message: expect.stringContaining('no-such-volume'),
  });
  // the allocation query's own wait (5 s) was not sat out: the verdict came at ~0.4 s, the next look within a second of it
  expect(Date.now() - t0).toBeLessThan(4_000);
});

it('still answers the moment the allocation is up when the scheduler is slow', async () => {
  await stack.nomad.registerJob(await stack.nomad.parseJob(spaceJobHcl('placeable')));
  const result = (await env().run(activities().waitForSpaceRunning, { jobId: 'placeable', deadline: Date.now() + 60_000 })) as { allocId: string };
  const allocs = await stack.nomad.jobAllocations('placeable');
  expect(result.allocId).toBe(allocs[0]?.ID);
  expect(allocs[0]).toMatchObject({ ClientStatus: 'running', DeploymentStatus: { Healthy: true } });
});
