/**
 * Issue 19 item 7: terminal input is user activity, and the auto-stop sweep's idle rule acts on
 * it. Two running spaces of a template with `idleTimeout: 10m`, each with its real `knot agent`
 * process: someone types into one space's terminal (busy), the other only has a terminal open
 * (idle). The agent reports the input over the link, the API records it, and the sweep — run
 * with an injected clock ten minutes on — stops the idle space and leaves the busy one running.
 * Then, with the clock past the busy space's last input too, that one stops as well.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAutoStopActivities } from '../../activities/sweeps/auto-stop';
import { autoStopDecision } from '../../core/auto-stop';
import type { AutoStopSweepResult } from '../../core/sweeps';
import { seedTemplate } from '../integration/api/harness';
import { startAgentStack, type AgentStack } from '../support/agent-stack';
import { waitForOperation } from '../support/harness';
import { openTerminal } from '../support/terminal';
import { until } from '../support/wait';

const IDLE_TIMEOUT = 10 * 60_000;

describe('idle auto-stop from terminal activity', () => {
  let s: AgentStack;

  beforeAll(async () => {
    s = await startAgentStack('sqlite');
    await s.api.client.createTemplate(seedTemplate('idle10', { idleTimeout: '10m' }) as never);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** one sweep pass as the worker runs it, but on `now` instead of the wall clock */
  function sweepAt(now: number): Promise<AutoStopSweepResult> {
    const acts = createAutoStopActivities({ ...s.backend.deps, lifecycle: s.backend.lifecycle, clock: () => now });
    return new MockActivityEnvironment().run(acts.autoStopSweep, {});
  }

  async function stopOf(spaceId: string) {
    return (await s.backend.store.operations.listOfSpace(spaceId)).filter((o) => o.type === 'stop');
  }

  it('stops the space nobody typed in and keeps the one with terminal input running', async () => {
    const [idle, busy] = await Promise.all([s.runningSpace('idle', { template: 'idle10' }), s.runningSpace('busy', { template: 'idle10' })]);
    // linked, but no input yet: no activity known for either
    expect((await s.space(idle.id)).status.agent.lastActivity).toBeNull();
    expect((await s.space(busy.id)).status.agent.lastActivity).toBeNull();

    // a terminal open on both; input only on the busy one
    const quiet = openTerminal(s.api.url, idle.id, s.alice);
    const typing = openTerminal(s.api.url, busy.id, s.alice);
    await Promise.all([quiet.waitStatus('open'), typing.waitStatus('open')]);
    const typedAfter = Date.now();
    typing.conn.send('echo typed-$((20+22))\r');
    await typing.waitFor(/typed-42/);

    // the agent reported it over the link and the API recorded it (the space view shows it)
    const busyView = await until('the busy space to record activity', async () => {
      const v = await s.space(busy.id);
      return v.status.agent.lastActivity ? v : null;
    }, 15_000, 50);
    const busyActivity = Date.parse(busyView.status.agent.lastActivity!);
    expect(busyActivity).toBeGreaterThanOrEqual(typedAfter - 1000);
    expect(busyActivity).toBeLessThanOrEqual(Date.now());
    // what the sweep reads: the same time, in ms
    const recorded = await s.backend.store.agentState(0).getMany([idle.id, busy.id]);
    expect(recorded.get(busy.id)?.lastActivity).toBe(busyActivity);
    // an open terminal without input is not activity
    expect(recorded.get(idle.id)).toBeDefined();
    expect(recorded.get(idle.id)!.lastActivity).toBeNull();
    expect((await s.space(idle.id)).status.agent.lastActivity).toBeNull();
    quiet.close();
    typing.close();

    // the clock: both spaces started more than 10m before it, the busy one's input less than 10m
    const idleStarted = (await s.backend.store.spaces.get(idle.id))!.startedAt!;
    const busyStarted = (await s.backend.store.spaces.get(busy.id))!.startedAt!;
    const margin = Math.floor((busyActivity - Math.max(idleStarted, busyStarted)) / 2);
    expect(margin).toBeGreaterThan(0);
    const now = busyActivity + IDLE_TIMEOUT - margin;
    expect(now - idleStarted).toBeGreaterThanOrEqual(IDLE_TIMEOUT);
    expect(now - busyStarted).toBeGreaterThanOrEqual(IDLE_TIMEOUT);
    expect(now - busyActivity).toBeLessThan(IDLE_TIMEOUT);
    // without the input the rule would stop the busy space too: only the activity keeps it
    const rule = (lastActivity: number | null) =>
      autoStopDecision({ startedAt: busyStarted, timezone: 'UTC', template: { idleTimeout: '10m' }, agent: { lastActivity }, globalIdleTimeoutMs: 0, now });
    expect(rule(null).stop).toBe(true);
    expect(rule(busyActivity).stop).toBe(false);

    expect(await sweepAt(now)).toEqual({ scanned: 2, stopped: 1, skipped: 0, failed: 0 });

    const [stop] = await stopOf(idle.id);
    expect(stop).toMatchObject({ requestedBy: 'system', reason: 'idle' });
    expect((await waitForOperation(s.backend.store, stop!.id)).status).toBe('succeeded');
    const stopped = await s.settled(idle.id, 'stopped');
    expect(stopped.status.lastOperation?.id).toBe(stop!.id);
    const audit = await s.backend.store.audit.list({ action: 'space.auto_stop', limit: 10 });
    expect(audit.map((e) => [e.resourceId, (e.detail as { message?: string }).message])).toEqual([[idle.id, 'auto-stop: idle for 10m']]);

    expect(await stopOf(busy.id)).toEqual([]);
    expect((await s.space(busy.id)).status.phase).toBe('running');

    // once its last input is 10 minutes old the busy space is idle too
    expect(await sweepAt(busyActivity + IDLE_TIMEOUT)).toEqual({ scanned: 1, stopped: 1, skipped: 0, failed: 0 });
    const [later] = await stopOf(busy.id);
    expect(later).toMatchObject({ requestedBy: 'system', reason: 'idle' });
    expect((await waitForOperation(s.backend.store, later!.id)).status).toBe('succeeded');
    await s.settled(busy.id, 'stopped');
  });
});
