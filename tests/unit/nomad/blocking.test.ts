/** Blocking queries (`?index=&wait=`): the wait loop learns of a change at once instead of polling. */
import type { AllocListStub } from '../../../nomad/types';
import { claimDrainingReason } from '../../../nomad/volume-claims';
import { csiVolume, sandboxWithClient, spaceJobHcl } from './helpers';

/** Running and healthy: the last change the sandbox makes to a space's allocation until it stops. */
const settled = (allocs: AllocListStub[]): boolean => allocs.some((a) => a.ClientStatus === 'running' && a.DeploymentStatus?.Healthy === true);

const JOB = `job "blocking" {
  group "g" {
    task "t" {
      driver = "docker"
      config { image = "busybox" }
    }
  }
}`;

it('returns at once without an index, then blocks until allocations change', async () => {
  const { sandbox, client } = await sandboxWithClient({ allocRunningDelayMs: 200, healthyDelayMs: 50 });
  try {
    const first = await client.watchJobAllocations('blocking', 0, 5000);
    expect(first.allocs).toEqual([]);
    expect(first.index).toBeGreaterThan(0);

    // nothing changes: the query waits for the wait time (give or take Nomad's jitter)
    const t0 = Date.now();
    const idle = await client.watchJobAllocations('blocking', first.index, 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(idle.allocs).toEqual([]);

    // a register wakes it long before the 10 s wait
    const watching = client.watchJobAllocations('blocking', idle.index, 10_000);
    const t1 = Date.now();
    await client.registerJob(await client.parseJob(JOB));
    const woke = await watching;
    expect(Date.now() - t1).toBeLessThan(5000);
    expect(woke.index).toBeGreaterThan(idle.index);
  } finally {
    await sandbox.close();
  }
});

/** Waits, through the job's own blocking query, until `done` holds for its allocations. */
async function watchUntil(
  client: Awaited<ReturnType<typeof sandboxWithClient>>['client'],
  jobId: string,
  done: (allocs: AllocListStub[]) => boolean,
): Promise<number> {
  let index = 0;
  for (;;) {
    const w = await client.watchJobAllocations(jobId, index, 5000);
    if (done(w.allocs)) return w.index;
    index = w.index;
  }
}

it("watches the job's own allocations, as Nomad's memdb watch does, and answers with the allocations table's index", async () => {
  const { sandbox, client } = await sandboxWithClient();
  try {
    await client.registerJob(await client.parseJob(spaceJobHcl('watched')));
    const running = await watchUntil(client, 'watched', settled);

    // the index is the allocations table's: the newest allocation change, not the cluster's
    const tableIndex = (): number => Math.max(...sandbox.state().allocations.map((a) => a.ModifyIndex));
    expect(running).toBe(tableIndex());
    await client.createCsiVolume(csiVolume('unrelated'));
    expect(sandbox.state().index).toBeGreaterThan(running);
    const afterVolume = await client.watchJobAllocations('watched', 0, 10);
    expect(afterVolume.index).toBe(running);

    // another job's allocations come and go, a volume is made: the watch on this job sleeps through it
    let woke = false;
    const watching = client.watchJobAllocations('watched', running, 20_000).then((w) => {
      woke = true;
      return w;
    });
    await client.registerJob(await client.parseJob(spaceJobHcl('neighbour')));
    const neighbourUp = await watchUntil(client, 'neighbour', settled);
    expect(neighbourUp).toBeGreaterThan(running);
    await client.createCsiVolume(csiVolume('unrelated-2'));
    // the blocking query's own answer path has run for the neighbour meanwhile: a wake would have landed by now
    await client.watchJobAllocations('neighbour', 0, 10);
    expect(woke).toBe(false);

    // its own allocation changing wakes it at once, with the index of that change
    await client.deregisterJob('watched', { purge: true });
    const stopped = await watching;
    expect(stopped.allocs.every((a) => a.DesiredStatus === 'stop')).toBe(true);
    expect(stopped.index).toBe(tableIndex());

    // an index behind the table answers at once (Nomad runs the query before it waits)
    const t0 = Date.now();
    const behind = await client.watchJobAllocations('watched', running, 20_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(behind.index).toBeGreaterThan(running);
  } finally {
    await sandbox.close();
  }
});

it("watches a CSI volume: a stopped allocation's claim, then the blocking query wakes when Nomad releases it", async () => {
  const { sandbox, client } = await sandboxWithClient({ claimReleaseDelayMs: 600 });
  try {
    expect(await client.watchCsiVolume('nobody', 0, 1000)).toMatchObject({ volume: null });
    await client.createCsiVolume(csiVolume('held'));
    await client.registerJob(await client.parseJob(spaceJobHcl('holder', 'held')));
    await watchUntil(client, 'holder', settled);
    const claimed = await client.watchCsiVolume('held', 0, 1000);
    expect(Object.keys(claimed.volume?.WriteAllocs ?? {})).toHaveLength(1);
    expect(claimDrainingReason(claimed.volume)).toBeNull();

    await client.deregisterJob('holder', { purge: true });
    // the claim outlives the allocation for a while: a start now would have to wait
    let w = await client.watchCsiVolume('held', 0, 1000);
    expect(claimDrainingReason(w.volume)).toMatch(/of a stopped job while Nomad releases the claim/);
    // each answer comes when the state moves, long before the 10 s wait; the last one shows the claim gone
    const t0 = Date.now();
    let answers = 0;
    while (claimDrainingReason(w.volume) !== null) {
      const next = await client.watchCsiVolume('held', w.index, 10_000);
      expect(next.index).toBeGreaterThan(w.index);
      w = next;
      answers++;
    }
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(answers).toBeGreaterThan(0);
    expect(w.volume?.WriteAllocs).toEqual({});
  } finally {
    await sandbox.close();
  }
});
