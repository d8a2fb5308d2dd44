/**
 * The replica tier (issue 24): knot scaled out — two `knot server` and two `knot worker` processes
 * on MariaDB + Redis, one Temporal, the Nomad sandbox — with one API and one worker SIGKILLed and
 * restarted while work is under way (tests/support/replica-stack.ts). Each scenario prints one
 * `[replicas]` summary line.
 *
 *   1. 200 mixed operations round-robin through both APIs, one API and one worker killed and
 *      restarted mid-run: none lost, none stuck, none run twice, no job or volume leaked.
 *   2. event-stream clients of the killed API reconnect (through the balancer) to the other with
 *      Last-Event-ID and miss no event of the store's log.
 *   3. with both workers polling, the sweep schedules exist once and each tick runs one workflow;
 *      a space past its max uptime gets one stop, not one per worker.
 *   4. a terminal, SSH and a forwarded port opened through either API reach the agent, whichever
 *      API holds its link (the other relays to it); killing the holder, the agent relinks through
 *      the balancer to the survivor and the same terminal session (same shell) comes back.
 *   5. an API killed after recording an operation but before starting its workflow (its Temporal
 *      connection stalled, so the kill lands in that window every time): the client's retry on the
 *      other API is accepted and runs, and the recorded operation is failed as never started
 *      rather than blocking the space (what left one operation of scenario 1 waiting for ever).
 */
import net from 'node:net';
import { KnotClient, KnotConnectionError, type KnotEvent } from '../../client';
import { newTerminalSessionId } from '../../client/terminal';
import { openTerminal } from '../support/terminal';
import { echoThrough, linkHolder, sshBanner } from './sessions';
import { checkInvariants, summary } from '../resilience/invariants';
import { seedJob, seedVolumes } from '../support/harness';
import type { KnotChild } from '../support/knot-child';
import { startReplicaStack, type ReplicaStack } from '../support/replica-stack';
import { until } from '../support/wait';
import { checkNoDuplicates, operationsOf } from './checks';
import { diagnoseOperation } from './diagnose';
import { drive } from './drive';
import { plainFetch } from './plain-fetch';

jest.setTimeout(300_000);

/** The seed template with a second (data) volume: what the mid-run template change publishes. */
function withDataVolume(): { job: string; volumes: string } {
  const job = seedJob().replace(
    '    task "debian" {',
    ['    volume "data_volume" {', '      type   = "csi"', '      source = "debian_${{.space.id}}_data"', '      read_only = false', '      attachment_mode = "file-system"', '      access_mode     = "single-node-writer"', '    }', '', '    task "debian" {'].join('\n'),
  );
  const data = ['  - id: "debian_${{.space.id}}_data"', '    plugin_id: "hostpath"', '    capacity_min: 1G', '    capabilities:', '      - access_mode: "single-node-writer"', '        attachment_mode: "file-system"'].join('\n');
  return { job, volumes: `${seedVolumes().trimEnd()}\n${data}\n` };
}

let stack: ReplicaStack;
let startupMs = 0;

beforeAll(async () => {
  const t0 = Date.now();
  // a short auto-stop interval: scenario 3 watches ticks, the others run with sweeps going on
  stack = await startReplicaStack({ autoStopInterval: '2s' });
  startupMs = Date.now() - t0;
});

/** The replicas by name, for diagnoses. */
function replicaProcesses(): Record<string, KnotChild> {
  return Object.fromEntries([...stack.apis.map((p, i) => [`api${i}`, p] as const), ...stack.workers.map((p, i) => [`worker${i}`, p] as const)]);
}

afterAll(async () => {
  await stack?.close();
});

test('200 mixed operations through both APIs while one API and one worker are SIGKILLed and restarted: 0 lost, 0 stuck, 0 duplicated, 0 leaked', async () => {
  const clients = [stack.client(0), stack.client(1)];
  const upgraded = withDataVolume();
  const events: string[] = [];
  let killed: Promise<void> | null = null;
  let restarted: Promise<void> | null = null;
  let upgrade: Promise<unknown> | null = null;
  let heldAtKill = 0;
  const d = await drive({
    clients,
    store: stack.store,
    template: stack.template,
    namePrefix: 'mix',
    ops: 200,
    lanes: 32,
    seed: 24,
    diagnose: (id) => diagnoseOperation({ store: stack.store, temporal: stack.temporal, processes: replicaProcesses() }, id),
    onAccepted(n) {
      // the kills land while operations are in flight on the victims (never awaited here: the lanes go on)
      if (n === 60 && !killed) {
        events.push(`kill@${n}`);
        // API 1 is killed while a workflow start of it hangs on Temporal (its connection held), so
        // the kill lands between recording an operation and starting its workflow, every run: the
        // window that once left an operation nothing would run (scenario 5 has it alone)
        stack.holdTemporalOf(1, true);
        killed = until('API 1 to wait on Temporal', () => stack.temporalHeldOf(1) > 0, 30_000, 5)
          .then(() => {
            heldAtKill = stack.temporalHeldOf(1);
            return Promise.all([stack.killApi(1), stack.killWorker(1)]);
          })
          .finally(() => stack.holdTemporalOf(1, false))
          .then(() => undefined);
      }
      if (n === 100 && !upgrade) {
        events.push(`template@${n}`);
        upgrade = stack.admin.replaceTemplate(stack.template, { name: stack.template, description: 'seed 000 example, with data', ...upgraded } as never);
      }
      if (n === 120 && killed && !restarted) {
        events.push(`restart@${n}`);
        restarted = killed.then(() => Promise.all([stack.startApi(1), stack.startWorker(1)])).then(() => undefined);
      }
    },
  });
  await killed;
  await restarted;
  await upgrade;

  // every accepted operation reaches a terminal state (the lanes waited for each; this re-reads them all)
  const ops = await operationsOf(stack.store, d.spaceIds);
  const accepted = new Set(d.accepted.map((a) => a.id));
  const lost = [...accepted].filter((id) => !ops.some((o) => o.id === id));
  const stuck = ops.filter((o) => !['succeeded', 'failed', 'cancelled'].includes(o.status));
  const report = await checkInvariants(stack.store, stack.sandbox.state(), { spaceIds: d.spaceIds });
  const dup = await checkNoDuplicates(stack.store, stack.temporal, d.spaceIds, stack.nomad.registrations());
  const failed = ops.filter((o) => o.status === 'failed').map((o) => `${o.type}:${o.errorType}`);
  console.log(
    summary('replicas mixed', report, {
      accepted: d.accepted.length,
      adopted: d.adopted.length,
      byType: d.byType,
      perApi: [0, 1].map((i) => d.accepted.filter((a) => a.api === i).length),
      unanswered: d.unanswered,
      refused: d.refused,
      serverErrors: d.serverErrors,
      conflictsWithNothingActive: d.conflictsWithNothingActive,
      failed,
      lost: lost.length,
      stuck: stuck.length,
      runs: dup.executions,
      neverStarted: dup.neverStarted,
      heldAtKill,
      registrations: dup.registrations,
      registrationsPerOp: dup.registrationsPerOperation,
      timeline: events,
      driveMs: d.ms,
      startupMs,
    }).replace('[resilience]', '[replicas]'),
  );
  if (report.violations.length || dup.violations.length) console.log(`[replicas] violations:\n  ${[...report.violations, ...dup.violations].join('\n  ')}`);

  expect(d.accepted.length).toBe(200);
  expect(lost).toEqual([]);
  expect(stuck.map((o) => `${o.type} ${o.id} ${o.status}`)).toEqual([]);
  expect(report.violations).toEqual([]);
  expect(dup.violations).toEqual([]);
  // the run really went through both APIs and really lost one of them for a while
  expect(events).toEqual(['kill@60', 'template@100', 'restart@120']);
  expect(d.accepted.filter((a) => a.api === 0).length).toBeGreaterThan(20);
  expect(d.accepted.filter((a) => a.api === 1).length).toBeGreaterThan(20);
  expect(d.unanswered[1]).toBeGreaterThan(0);
  expect(stack.apis[1]!.starts).toBe(2);
  expect(stack.workers[1]!.starts).toBe(2);
  // each kind of operation happened, updates after the template change included
  for (const type of ['create', 'start', 'stop', 'restart', 'update', 'delete']) expect(d.byType[type] ?? 0).toBeGreaterThan(0);
  expect(ops.filter((o) => o.type === 'update' && o.status === 'succeeded').length).toBeGreaterThan(0);
});

test("event-stream clients of a killed API reconnect through the balancer to the other with Last-Event-ID and miss no event", async () => {
  const c = stack.client(1);
  const spaces = await Promise.all(['ev1', 'ev2', 'ev3'].map((name) => c.createSpace({ name, template: stack.template } as never)));
  const from = (await stack.store.events.bounds()).newestId ?? 0;

  interface Watcher {
    who: 'admin' | 'user';
    backend: number;
    events: KnotEvent[];
    opens: number;
    drops: number;
    lastEventIds: (string | null)[];
    abort: AbortController;
    done: Promise<void>;
  }
  const watchers: Watcher[] = [];
  // opened one after the other, each its own TCP connection: the balancer alternates them over both APIs
  for (const who of ['admin', 'user', 'admin', 'user'] as const) {
    const before = stack.balancer.connections.length;
    const w: Watcher = { who, backend: -1, events: [], opens: 0, drops: 0, lastEventIds: [], abort: new AbortController(), done: Promise.resolve() };
    const client = new KnotClient({ url: stack.url, token: who === 'admin' ? stack.adminToken : stack.user.token, fetch: plainFetch((_u, h) => w.lastEventIds.push(h['last-event-id'] ?? null)) });
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    w.done = (async () => {
      for await (const e of client.events({ lastEventId: from, signal: w.abort.signal, onOpen: () => (w.opens++, opened()), onDisconnect: () => w.drops++ })) {
        if (e.type !== 'reset') w.events.push(e);
      }
    })();
    await open;
    w.backend = stack.balancer.connections[before]!.backend;
    watchers.push(w);
  }
  expect(watchers.map((w) => w.backend).sort()).toEqual([0, 0, 1, 1]);

  // events while the API dies: operations through the surviving API, the kill in the middle of them
  const runOps = async (type: 'start' | 'stop') => {
    const ops = await Promise.all(spaces.map((s) => c.spaceAction(s.id, type)));
    await Promise.all(ops.map((o) => until(`${type} ${o.operation.id}`, async () => ['succeeded', 'failed'].includes((await stack.store.operations.get(o.operation.id))?.status ?? '') || null, 60_000, 100)));
  };
  const first = runOps('start');
  await until('events to flow', () => watchers.every((w) => w.events.length > 0));
  await stack.killApi(0);
  const atKill = stack.balancer.connections.length;
  await first;
  await until("the killed API's clients to reconnect", () => watchers.filter((w) => w.backend === 0).every((w) => w.opens === 2), 30_000);
  await runOps('stop');
  // while it was down, every connection the balancer made went to the survivor
  const reconnects = stack.balancer.connections.slice(atKill);
  await stack.startApi(0);

  // the log up to now; events recorded later (if any) are left out of the comparison on both sides
  const newest = (await stack.store.events.bounds()).newestId!;
  const log = (await stack.store.events.after(from, { limit: 100_000 })).filter((e) => e.id <= newest);
  const visibleTo = (w: Watcher) => log.filter((e) => w.who === 'admin' || e.ownerId === stack.user.id).map((e) => e.id);
  await until('every client to have seen the log up to its newest event', () => watchers.every((w) => (w.events.at(-1)?.id ?? 0) >= (visibleTo(w).at(-1) ?? 0)), 30_000);
  for (const w of watchers) w.abort.abort();
  await Promise.all(watchers.map((w) => w.done));
  for (const w of watchers) w.events = w.events.filter((e) => e.id <= newest);

  console.log(
    `[replicas] event-stream: log ${from + 1}..${newest} (${log.length} events) ` +
      watchers.map((w) => `${w.who}@api${w.backend}: seen=${w.events.length} opens=${w.opens} drops=${w.drops} lastEventIds=${JSON.stringify(w.lastEventIds)}`).join('; '),
  );
  for (const w of watchers) {
    // exactly the log's visible events, in order, each once: nothing missed across the reconnect
    expect(w.events.map((e) => e.id)).toEqual(visibleTo(w));
    expect(w.events).toEqual(log.filter((e) => visibleTo(w).includes(e.id)).map((e) => e.event));
  }
  for (const w of watchers.filter((x) => x.backend === 0)) {
    expect(w.drops).toBeGreaterThanOrEqual(1);
    // the reconnect resumed after the last event it had seen
    expect(w.lastEventIds[0]).toBe(String(from));
    expect(Number(w.lastEventIds[1])).toBeGreaterThan(from);
  }
  for (const w of watchers.filter((x) => x.backend === 1)) expect(w.opens).toBe(1);
  // the reconnects could only have gone to the surviving API
  expect(reconnects.length).toBeGreaterThanOrEqual(2);
  expect(reconnects.filter((x) => x.backend !== 1)).toEqual([]);
});

test('with both workers polling, each sweep tick runs one workflow and a due space is auto-stopped once', async () => {
  const admin = stack.admin;
  await admin.createTemplate({ name: 'short', description: 'stopped after 1s', job: seedJob(), volumes: seedVolumes(), maxUptime: '1s' } as never);
  const c = stack.client();
  const space = await c.createSpace({ name: 'due', template: 'short' } as never);
  await c.startSpace(space.id);
  // the sweep stops it within a tick or two of its start
  const stopped = await until('the auto-stop', async () => (await operationsOf(stack.store, [space.id])).find((o) => o.type === 'stop' && o.status === 'succeeded'), 60_000, 200);
  const schedule = stack.temporal.schedule.getHandle('knot-auto-stop');
  const ticksAtStop = (await schedule.describe()).info.numActionsTaken;
  // several more ticks with the space stopped, both workers polling
  await until('three more ticks', async () => (await schedule.describe()).info.numActionsTaken >= ticksAtStop + 3, 30_000, 200);

  const ops = await operationsOf(stack.store, [space.id]);
  const audit = (await admin.listAudit({ action: 'space.auto_stop', resourceId: space.id })).items;
  const schedules: string[] = [];
  for await (const s of stack.temporal.schedule.list()) schedules.push(s.scheduleId);
  // every run the schedule started, from Temporal's visibility (paused, so the count holds still)
  await schedule.pause('replica test: counting ticks');
  const ticks = (await schedule.describe()).info.numActionsTaken;
  const runs: { id: string; identity: string | null }[] = [];
  await until('visibility to list every tick', async () => {
    runs.length = 0;
    for await (const w of stack.temporal.workflow.list({ query: "WorkflowType = 'autoStopSweepWorkflow'" })) runs.push({ id: w.workflowId, identity: null });
    return runs.length >= ticks;
  }, 30_000, 500);
  // which worker ran each of the last few ticks' activities
  for (const r of runs.slice(0, 8)) {
    const history = await stack.temporal.workflow.getHandle(r.id).fetchHistory();
    r.identity = history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.identity ?? null;
  }
  const pids = stack.workers.map((w) => String(w.pid));
  console.log(
    `[replicas] sweeps: schedules=${JSON.stringify(schedules.sort())} ticks=${ticks} runs=${runs.length} stopOps=${ops.filter((o) => o.type === 'stop').length} ` +
      `autoStopAudit=${audit.length} workers=${JSON.stringify(pids)} ranOn=${JSON.stringify(runs.map((r) => r.identity).filter(Boolean))}`,
  );
  // one schedule of each kind for the whole deployment, not one per worker
  expect(schedules.sort()).toEqual(['knot-auto-stop', 'knot-cleanup']);
  // one run per tick: as many runs as actions taken, each tick's workflow id once
  expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
  expect(runs.length).toBe(ticks);
  // the due space was stopped once, by the system, and audited once
  expect(ops.filter((o) => o.type === 'stop').map((o) => o.id)).toEqual([stopped.id]);
  expect(stopped.requestedBy).toBe('system');
  expect(audit).toHaveLength(1);
  expect((await c.getSpace(space.id)).status.phase).toBe('stopped');
});

test('a terminal, SSH and a forwarded port through either API reach the agent whichever holds its link; losing the holder, the agent relinks to the other and the terminal session comes back', async () => {
  const echo = net.createServer((c) => c.on('error', () => {}).pipe(c));
  const echoPort = await new Promise<number>((r) => echo.listen(0, '127.0.0.1', () => r((echo.address() as net.AddressInfo).port)));
  try {
    const { id } = await stack.runningSpaceWithAgent('linked', { agentEnv: { KNOT_SSH_PORT: '' } });
    const token = stack.user.token;
    await until('SSH and the echo port reported', async () => {
      const services = (await stack.client().getSpace(id)).status.agent.services as { ssh?: boolean; ports?: number[] };
      return services.ssh === true && (services.ports?.includes(echoPort) ?? false);
    }, 30_000, 100);
    const holderUrl = await until('the link record names its holder', () => linkHolder(stack.redis, id), 15_000, 50);
    const holder = [0, 1].find((i) => stack.apiUrl(i) === holderUrl);
    expect(holder).toBeDefined();
    const other = 1 - holder!;

    // every way in, through each API: one holds the link, the other relays to it
    for (const i of [holder!, other]) {
      const t = openTerminal(stack.apiUrl(i).replace(/^http/, 'ws'), id, token);
      await t.waitStatus('open');
      t.conn.send(`echo through-api-$((${i}+100))\n`);
      await t.waitFor(new RegExp(`through-api-${i + 100}`));
      t.close();
      expect(await sshBanner(stack.apiUrl(i), id, token)).toMatch(/^SSH-2\.0-/);
      await echoThrough(stack.apiUrl(i), id, echoPort, token, `bytes via api ${i}`);
    }

    // a terminal through the API that does not hold the link; then the holder dies
    const session = newTerminalSessionId();
    const t = openTerminal(stack.apiUrl(other).replace(/^http/, 'ws'), id, token, { session });
    await t.waitStatus('open');
    t.conn.send('echo shell-pid=$$\n');
    const [, pid] = await t.waitFor(/shell-pid=(\d+)/);
    const seen = t.statuses.length;
    await stack.killApi(holder!);
    // the agent's socket died with it: it redials through the balancer, which reaches the survivor
    await until('the agent relinked to the surviving API', async () => (await linkHolder(stack.redis, id)) === stack.apiUrl(other), 30_000, 100);
    await until('the terminal reconnected', () => t.statuses.slice(seen).some((x) => x.status === 'open'), 30_000, 20);
    expect(t.statuses.slice(seen).map((x) => x.status)).toContain('reconnecting');
    const from = t.text().length;
    t.conn.send('echo again-pid=$$\n');
    // the same shell: its pid did not change
    await t.waitFor(new RegExp(`again-pid=${pid}`), 15_000, Math.max(0, from - 200));
    t.close();
    // SSH and ports work through the survivor, now the holder
    expect(await sshBanner(stack.apiUrl(other), id, token)).toMatch(/^SSH-2\.0-/);
    await echoThrough(stack.apiUrl(other), id, echoPort, token, 'after the relink');
    await stack.startApi(holder!);
    await echoThrough(stack.apiUrl(holder!), id, echoPort, token, 'through the restarted API, relayed');
  } finally {
    echo.close();
  }
});

test('an API killed between recording an operation and starting its workflow: the retry on the other API is accepted and runs, the recorded one is failed as never started', async () => {
  await Promise.all([stack.startApi(0), stack.startApi(1)]);
  const space = await stack.client(0).createSpace({ name: 'orphaned', template: stack.template } as never);
  // API 1 records the start, then hangs on Temporal; it dies there, before the workflow exists
  stack.holdTemporalOf(1, true);
  let recorded;
  let outcome: unknown;
  try {
    const lost = stack.client(1).startSpace(space.id).then(() => 'answered', (e: unknown) => e);
    recorded = await until('API 1 to record the start', () => stack.store.operations.active(space.id), 15_000, 20);
    await stack.killApi(1);
    outcome = await lost;
  } finally {
    stack.holdTemporalOf(1, false);
  }
  expect(outcome).toBeInstanceOf(KnotConnectionError);
  expect(recorded).toMatchObject({ type: 'start', status: 'pending', runId: null });

  // the client retries the unanswered request on the other API at once, as the drive of scenario 1 does
  const t0 = Date.now();
  const retried = await stack.client(0).startSpace(space.id);
  const answeredMs = Date.now() - t0;
  expect(retried.operation.id).not.toBe(recorded.id);
  const done = await until('the retried start to finish', async () => {
    const op = await stack.store.operations.get(retried.operation.id);
    return op && ['succeeded', 'failed', 'cancelled'].includes(op.status) ? op : null;
  }, 60_000, 100);
  const orphan = await stack.store.operations.get(recorded.id);
  const create = (await operationsOf(stack.store, [space.id])).find((o) => o.type === 'create')!;
  // Temporal ran the create and the retried start, never the orphan
  const runs: string[] = [];
  await until('visibility to list both runs', async () => {
    runs.length = 0;
    for await (const w of stack.temporal.workflow.list({ query: `WorkflowId = 'space-${space.id}'` })) runs.push(((w.memo ?? {}) as { operationId?: string }).operationId ?? '-');
    return runs.length >= 2;
  }, 30_000, 200);
  console.log(`[replicas] orphaned start: retry answered in ${answeredMs} ms, retried ${done.status}, orphan ${orphan?.status}/${orphan?.errorType}, runs ${JSON.stringify(runs)}`);
  expect(done.status).toBe('succeeded');
  expect(orphan).toMatchObject({ status: 'failed', errorType: 'operation_not_started' });
  expect(runs.sort()).toEqual([create.id, retried.operation.id].sort());
  expect((await stack.client(0).getSpace(space.id)).status.phase).toBe('running');
  await stack.startApi(1);
});
