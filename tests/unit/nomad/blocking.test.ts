/** Blocking queries (`?index=&wait=`): the wait loop learns of a change at once instead of polling. */
import { sandboxWithClient } from './helpers';

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
