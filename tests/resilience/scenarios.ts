/**
 * The resilience suite (issue 8): mixed lifecycle operations on many spaces while something keeps
 * breaking, then the invariants of ./invariants.ts. `short` runs in CI (tests/integration/
 * resilience-short.test.ts); `full` runs from `npm run chaos` (KNOT_CHAOS=full).
 *
 *   worker-kill  a `knot worker` child process SIGKILLed every few seconds, restarted at once
 *   nomad-faults the sandbox rotating 30% 500s, latency spikes (past the client timeout) and hung calls
 *   temporal     a private Temporal dev server (its own DB file) stopped and started mid-run
 *   mariadb      a private MariaDB killed mid-run (opt out: KNOT_CHAOS_MARIADB=0): see ./mariadb.ts
 *
 * Each prints one summary line: operations by status, spaces by phase, violations, durations.
 */
import { seededRandom } from '../../nomad/sandbox/faults';
import type { FaultRule, Faults } from '../../nomad/sandbox/faults';
import type { Operation } from '../../store/model';
import { startDevServer, freePort, type DevServer } from '../../temporal/dev-server';
import { storeKinds, type StoreKind } from '../support/db';
import { seedTemplate, seedUser, startHarness, testSettings, type Harness } from '../support/harness';
import { workerProcess, type WorkerProcess } from '../support/worker-process';
import { checkInvariants, diagnose, summary } from './invariants';
import { createSpace, homeAndData, homeOnly, jobNamed, jobWithData, loggedNomad, startOp, type OpType } from './support';
import { startHarness as startApiHarness, type Harness as ApiHarness } from '../integration/api/harness';
import { mariadbAvailable, startPrivateMariaDb } from './mariadb';
import { redisAvailable, startPrivateRedis } from './redis';
import type { PrivateServer } from './private-server';

/** A store server of the scenario's own that it can kill and start again. */
type PrivateStoreServer = PrivateServer & { url: string };
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Mode = 'short' | 'full';

export const PROFILE = {
  short: { ops: 30, spaces: 8, killEveryMs: [3000, 6000] as const, minKills: 4, killPaceMs: 500, faultPhaseMs: 1500, temporalOps: 20, mariadbOps: 20, outagePaceMs: 250, settleMs: 240_000 },
  full: { ops: 200, spaces: 16, killEveryMs: [2000, 5000] as const, minKills: 40, killPaceMs: 600, faultPhaseMs: 1500, temporalOps: 100, mariadbOps: 100, outagePaceMs: 100, settleMs: 900_000 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Owner {
  id: string;
  username: string;
}

export interface DriveResult {
  issued: number;
  refused: number;
  createFailures: number;
  storeErrors: number;
  /** refusals by error type (operation_in_progress: the previous workflow was still closing) */
  refusedBy: Record<string, number>;
  opIds: string[];
  spaceIds: string[];
  byType: Record<string, number>;
  ms: number;
}

/**
 * Issues `ops` operations on a pool of spaces, never two at once on a space, choosing by phase with
 * a seeded PRNG; halfway it publishes a template version adding a volume. Deleted spaces are
 * replaced by new ones. Returns once all are issued (not finished).
 */
export async function drive(
  h: Pick<Harness, 'store' | 'lifecycle'>,
  opts: {
    owner: Owner;
    template: string;
    jobPrefix: string;
    ops: number;
    spaces: number;
    seed: number;
    timeoutMs: number;
    paceMs?: number;
    /** the template's job before and after the upgrade (default: the seed job, then with a data volume) */
    jobs?: { first: string; withData: string };
    /** counts every operation recorded so far (creates and lifecycle operations), for disturbances that wait for the run to be under way */
    progress?: { operations: number };
  },
): Promise<DriveResult> {
  const t0 = Date.now();
  const random = seededRandom(opts.seed);
  const jobs = opts.jobs ?? { first: jobNamed(opts.jobPrefix), withData: jobWithData(opts.jobPrefix) };
  const tpl = await seedTemplate(h.store, { name: opts.template, job: jobs.first, volumes: homeOnly() });
  const res: DriveResult = { issued: 0, refused: 0, createFailures: 0, storeErrors: 0, refusedBy: {}, opIds: [], spaceIds: [], byType: {}, ms: 0 };
  const pool = new Map<string, { id: string; op: string | null }>();
  const creating = new Set<Promise<void>>();
  let n = 0;
  const addSpace = () => {
    const name = `${opts.jobPrefix}${++n}`;
    const p = (async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const s = await createSpace(h, opts.owner, tpl.id, name, opts.template);
          pool.set(s.id, { id: s.id, op: null });
          res.spaceIds.push(s.id);
          if (opts.progress) opts.progress.operations++;
          return;
        } catch {
          res.createFailures++;
          await sleep(1000);
        }
      }
    })();
    creating.add(p);
    void p.finally(() => creating.delete(p));
  };
  for (let i = 0; i < opts.spaces; i++) addSpace();
  await Promise.all([...creating]);

  let upgraded = false;
  /** One pass over the pool: an operation for some idle spaces; returns how many were issued. */
  const round = async (): Promise<number> => {
    let issued = 0;
    if (!upgraded && res.issued >= opts.ops / 2) {
      await seedTemplate(h.store, { name: opts.template, job: jobs.withData, volumes: homeAndData() }, '1.1.0');
      upgraded = true;
    }
    for (const entry of [...pool.values()]) {
      if (res.issued >= opts.ops) break;
      if (entry.op) {
        const op = await h.store.operations.get(entry.op);
        if (op && !['succeeded', 'failed', 'cancelled'].includes(op.status)) continue;
        entry.op = null;
      }
      const space = await h.store.spaces.get(entry.id);
      if (!space || space.deletedAt || space.phase === 'deleted') {
        pool.delete(entry.id);
        addSpace();
        continue;
      }
      if (random() < 0.5) continue; // not every idle space at once
      const r = random();
      let type: OpType;
      if (space.phase === 'running') type = r < 0.55 ? 'stop' : r < 0.85 ? 'restart' : 'update';
      else if (space.phase === 'stopped') type = r < 0.75 ? 'start' : r < 0.85 ? 'update' : 'delete';
      else if (space.phase === 'failed') type = 'stop';
      else continue;
      try {
        const op = await startOp(h, entry.id, type, opts.owner, opts.template);
        entry.op = op.id;
        res.opIds.push(op.id);
        res.issued++;
        issued++;
        if (opts.progress) opts.progress.operations++;
        res.byType[type] = (res.byType[type] ?? 0) + 1;
        // spread the operations over the chaos window (operations take milliseconds on the sandbox)
        if (opts.paceMs) await sleep(opts.paceMs);
      } catch (e) {
        res.refused++;
        const why = (e as { type?: string }).type ?? 'error';
        res.refusedBy[why] = (res.refusedBy[why] ?? 0) + 1;
      }
    }
    return issued;
  };
  const deadline = Date.now() + opts.timeoutMs;
  while (res.issued < opts.ops && Date.now() < deadline) {
    let issued = 0;
    try {
      issued = await round();
    } catch {
      // the store is down (MariaDB scenario): try again shortly
      res.storeErrors++;
    }
    if (issued === 0) await sleep(100);
  }
  await Promise.all([...creating]);
  res.ms = Date.now() - t0;
  return res;
}

/** Waits (bounded) until every operation is terminal; returns the ones that are not. */
export async function settle(h: Pick<Harness, 'store'>, opIds: string[], timeoutMs: number): Promise<{ pending: Operation[]; ms: number }> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  for (;;) {
    let pending: Operation[] = [];
    try {
      for (const id of opIds) {
        const op = await h.store.operations.get(id);
        if (op && !['succeeded', 'failed', 'cancelled'].includes(op.status)) pending.push(op);
      }
    } catch {
      pending = [{ id: 'store unreachable' } as Operation];
    }
    if (pending.length === 0 || Date.now() > deadline) return { pending, ms: Date.now() - t0 };
    await sleep(250);
  }
}

/** Every operation of the spaces (oldest first) with its steps, the volume rows and what the sandbox holds of each space's volumes: what a violation needs to be explained. */
async function finish(h: Harness, label: string, d: DriveResult, extra: Record<string, unknown>) {
  const report = await checkInvariants(h.store, h.sandbox.state(), { spaceIds: d.spaceIds });
  console.log(summary(label, report, { issued: d.issued, refused: d.refusedBy, byType: d.byType, ...extra }));
  if (report.violations.length > 0) {
    console.log(`[resilience] ${label} violations:\n  ${report.violations.join('\n  ')}`);
    console.log(`[resilience] ${label} diagnosis:\n${await diagnose(h.store, h.sandbox.state(), d.spaceIds)}`);
  }
  expect(d.issued).toBeGreaterThan(0);
  expect(report.violations).toEqual([]);
  return report;
}

function childWorker(h: Harness, temporalAddress: string): WorkerProcess {
  return workerProcess({
    taskQueue: h.taskQueue,
    temporalAddress,
    nomadAddr: h.sandbox.url,
    storeEnv: h.testStore.env,
    encryptKey: testSettings.encryptKey,
    nomadTimeout: '3s',
  });
}

/** A background loop; `stop()` ends it and waits for the iteration in progress. */
export function loop(every: () => number, body: () => Promise<void>): { stop(): Promise<void>; count: () => number } {
  let stopped = false;
  let wake: (() => void) | null = null;
  let n = 0;
  const done = (async () => {
    while (!stopped) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, every());
      });
      if (stopped) break;
      await body();
      n++;
    }
  })();
  return {
    count: () => n,
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
}

export function defineResilienceSuite(mode: Mode): void {
  const p = PROFILE[mode];
  // CI-short runs each scenario on SQLite to stay within a few minutes (and worker-kill on Redis too); full runs every store
  const kinds: StoreKind[] = mode === 'full' ? storeKinds() : ['sqlite'];
  jest.setTimeout(mode === 'full' ? 3_600_000 : 600_000);

  const workerKill = (kind: StoreKind) => async () => {
    const h = await startHarness(kind, { startWorker: false });
    const worker = childWorker(h, process.env.KNOT_TEST_TEMPORAL_ADDRESS!);
    const random = seededRandom(11);
    try {
      await worker.start();
      const owner = await seedUser(h.store, `wk${kind}`);
      const killer = loop(
        () => p.killEveryMs[0] + random() * (p.killEveryMs[1] - p.killEveryMs[0]),
        async () => {
          await worker.kill();
          await worker.start();
        },
      );
      let d: DriveResult;
      try {
        d = await drive(h, { owner, template: 'wk', jobPrefix: 'wk', ops: p.ops, spaces: p.spaces, seed: 5, timeoutMs: p.settleMs, paceMs: p.killPaceMs });
        // keep killing while operations are still in flight, until the profile's kill count
        const t = Date.now() + p.settleMs / 2;
        while (killer.count() < p.minKills && Date.now() < t) await sleep(200);
      } finally {
        await killer.stop();
        await worker.start();
      }
      const s = await settle(h, d.opIds, p.settleMs);
      await finish(h, `${kind} worker-kill`, d, { kills: killer.count(), driveMs: d.ms, settleMs: s.ms, unsettled: s.pending.length });
      // the scenario proves something only if the worker really was killed (and came back)
      expect(killer.count()).toBeGreaterThan(0);
      expect(worker.starts).toBeGreaterThan(killer.count());
    } finally {
      await worker.stop();
      await h.close();
    }
  };

  // the Redis store gets the worker-kill scenario in CI too (the full run covers every scenario on every store)
  if (mode === 'short') {
    describe('resilience (short) on redis', () => {
      it(`keeps its invariants while the worker is SIGKILLed every few seconds (${p.ops} operations)`, workerKill('redis'));
    });
  }

  describe.each(kinds)(`resilience (${mode}) on %s`, (kind) => {
    it(`keeps its invariants while the worker is SIGKILLed every few seconds (${p.ops} operations)`, workerKill(kind));

    it(`keeps its invariants through 30% 500s, latency spikes and hung Nomad calls (${p.ops} operations)`, async () => {
      const h = await startHarness(kind, { startWorker: false });
      const logged = loggedNomad(h.sandbox.url, 1500);
      h.deps.nomad = logged.nomad;
      const random = seededRandom(23);
      const targets = ['^/v1/jobs$', '^/v1/job/[^/]+$', '^/v1/job/[^/]+/allocations$', '^/v1/job/[^/]+/evaluations$', '^/v1/allocation/', '^/v1/volume/csi/'];
      let phase = 0;
      try {
        await h.startWorker();
        const owner = await seedUser(h.store, `nf${kind}`);
        const chaos = loop(
          () => p.faultPhaseMs,
          async () => {
            phase++;
            const base: FaultRule = { path: '^/v1/', errorRate: 0.3 };
            const target = targets[Math.floor(random() * targets.length)]!;
            const rules: FaultRule[] = [base];
            const roll = random();
            if (roll < 0.35) rules.push({ path: target, latencyMs: 200 + Math.floor(random() * 2300) });
            else if (roll < 0.6) rules.push({ path: target, hang: true });
            const faults: Faults = { seed: phase, rules };
            h.sandbox.setFaults(faults);
          },
        );
        let d: DriveResult;
        try {
          d = await drive(h, { owner, template: 'nf', jobPrefix: 'nf', ops: p.ops, spaces: p.spaces, seed: 9, timeoutMs: p.settleMs });
        } finally {
          await chaos.stop();
          h.sandbox.setFaults({});
        }
        const s = await settle(h, d.opIds, p.settleMs);
        const errors = logged.log.calls.filter((c) => c.status === 500).length;
        const aborted = logged.log.calls.filter((c) => c.status === 'aborted').length;
        await finish(h, `${kind} nomad-faults`, d, { faultPhases: phase, injected500s: errors, timedOutCalls: aborted, driveMs: d.ms, settleMs: s.ms, unsettled: s.pending.length });
        // Nomad really misbehaved during the run
        expect(phase).toBeGreaterThan(0);
        expect(errors).toBeGreaterThan(0);
      } finally {
        h.sandbox.setFaults({});
        await h.close();
      }
    });

    it(`keeps its invariants when the Temporal server restarts mid-run (${p.temporalOps} operations)`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-temporal-'));
      const dbFilename = path.join(dir, 'temporal.db');
      const port = await freePort();
      let dev: DevServer = await startDevServer({ port, dbFilename });
      const shared = process.env.KNOT_TEST_TEMPORAL_ADDRESS;
      // the harness connects its client to this private server
      process.env.KNOT_TEST_TEMPORAL_ADDRESS = dev.address;
      let h: Harness | null = null;
      let worker: WorkerProcess | null = null;
      try {
        h = await startHarness(kind, { startWorker: false });
        process.env.KNOT_TEST_TEMPORAL_ADDRESS = shared;
        worker = childWorker(h, dev.address);
        await worker.start();
        const owner = await seedUser(h.store, `tp${kind}`);
        let restarts = 0;
        let downMs = 0;
        const progress = { operations: 0 };
        const restarter = (async () => {
          // restart once the run is under way
          const t = Date.now() + 30_000;
          while (Date.now() < t && progress.operations < Math.max(8, p.spaces + p.temporalOps / 3)) await sleep(100);
          const t0 = Date.now();
          await dev.stop();
          dev = await startDevServer({ port, dbFilename });
          downMs = Date.now() - t0;
          restarts++;
          // the worker keeps polling through the outage; if it gave up, start it again
          if (!worker!.alive) await worker!.start();
        })();
        let d: DriveResult;
        try {
          d = await drive(h, { owner, template: 'tp', jobPrefix: 'tp', ops: p.temporalOps, spaces: p.spaces, seed: 13, timeoutMs: p.settleMs, paceMs: p.outagePaceMs, progress });
        } finally {
          await restarter;
        }
        if (!worker.alive) await worker.start();
        const s = await settle(h, d.opIds, p.settleMs);
        await finish(h, `${kind} temporal-restart`, d, { restarts, serverDownMs: downMs, workerStarts: worker.starts, driveMs: d.ms, settleMs: s.ms, unsettled: s.pending.length });
        // the server really went down and came back mid-run
        expect(restarts).toBeGreaterThan(0);
      } finally {
        process.env.KNOT_TEST_TEMPORAL_ADDRESS = shared;
        await worker?.stop();
        await h?.close();
        await dev.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  /*
   * The store's server killed mid-run and started again: a private MariaDB, or a private Redis
   * holding the whole store (appendonly, as the Redis store asks of production), each on its own
   * port and data dir, so these run in CI too. Opt out with KNOT_CHAOS_MARIADB=0 / KNOT_CHAOS_REDIS=0
   * (e.g. on a machine without the server).
   */
  const restartable: { kind: 'mysql' | 'redis'; label: string; run: boolean; open: () => Promise<PrivateStoreServer>; env: 'KNOT_TEST_MYSQL' | 'KNOT_TEST_REDIS' }[] = [
    { kind: 'mysql', label: 'MariaDB', run: mariadbAvailable() && process.env.KNOT_CHAOS_MARIADB !== '0', open: startPrivateMariaDb, env: 'KNOT_TEST_MYSQL' },
    { kind: 'redis', label: 'Redis (the whole store)', run: redisAvailable() && process.env.KNOT_CHAOS_REDIS !== '0', open: startPrivateRedis, env: 'KNOT_TEST_REDIS' },
  ];
  for (const server of restartable) {
    (server.run ? it : it.skip)(`keeps its invariants when ${server.label} is killed mid-run; the API answers 503, recovers by itself, nothing is written twice (${p.mariadbOps} operations)`, async () => {
      const store = await server.open();
      // knex reports every failed pool acquisition on console.log while the server is down: expected here
      const log = console.log.bind(console);
      const quiet = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        if (!/Acquire connection error|Connection Error|ECONNREFUSED/.test(String(args[0]))) log(...args);
      });
      const shared = process.env[server.env];
      let h: Harness | null = null;
      let api: ApiHarness | null = null;
      try {
        process.env[server.env] = store.url;
        try {
          h = await startHarness(server.kind);
        } finally {
          process.env[server.env] = shared;
        }
        const db = h.store;
        api = await startApiHarness(server.kind, {
          backend: { store: db, sandboxUrl: h.sandbox.url, lifecycle: h.lifecycle },
          health: { checks: { store: () => db.ping() } },
        });
        const owner = await seedUser(db, `restart${server.kind}`);
        const probe = async () => {
          try {
            return (await api!.call('GET', '/api/v1/spaces')).status;
          } catch {
            return -1;
          }
        };
        expect(await probe()).toBe(200);
        const outage = { statuses: {} as Record<string, number>, health: 0, downMs: 0, recoveryMs: 0 };
        const progress = { operations: 0 };
        const chaos = (async () => {
          const t = Date.now() + 60_000;
          while (Date.now() < t && progress.operations < p.spaces + p.mariadbOps / 3) await sleep(100);
          const t0 = Date.now();
          await store.kill();
          // the API answers 503 (problem+json) while the store is down: seen within a bounded time
          const seen503 = Date.now() + 20_000;
          for (;;) {
            const st = await probe();
            outage.statuses[st] = (outage.statuses[st] ?? 0) + 1;
            if (st === 503 || Date.now() > seen503) break;
            await sleep(100);
          }
          outage.health = (await api!.call('GET', '/health', { token: null })).status;
          // stays down a little while operations keep being attempted
          await sleep(3000);
          await store.start();
          outage.downMs = Date.now() - t0;
          const t1 = Date.now();
          const recovered = Date.now() + 60_000;
          while ((await probe()) !== 200 && Date.now() < recovered) await sleep(200);
          outage.recoveryMs = Date.now() - t1;
        })();
        let d: DriveResult;
        try {
          d = await drive(h, { owner, template: 'rs', jobPrefix: 'rs', ops: p.mariadbOps, spaces: p.spaces, seed: 17, timeoutMs: p.settleMs, paceMs: p.outagePaceMs, progress });
        } finally {
          await chaos;
        }
        const s = await settle(h, d.opIds, p.settleMs);
        const after = await probe();
        await finish(h, `${server.kind} store-restart`, d, { storeErrors: d.storeErrors, outage, apiAfter: after, driveMs: d.ms, settleMs: s.ms, unsettled: s.pending.length });
        expect(outage.statuses['503']).toBeGreaterThan(0);
        expect(outage.health).toBe(503);
        expect(after).toBe(200);
        // nothing written twice: one record per operation id, each operation finished once, every
        // step of an operation recorded once
        const ops = (await Promise.all(d.spaceIds.map((id) => db.operations.listOfSpace(id, 10_000)))).flat();
        expect(new Set(ops.map((o) => o.id)).size).toBe(ops.length);
        const finishedEvents = new Map<string, number>();
        for (const e of await db.events.after(0, { limit: 100_000 })) {
          if (e.event.type === 'operation.finished' && e.event.operationId) finishedEvents.set(e.event.operationId, (finishedEvents.get(e.event.operationId) ?? 0) + 1);
        }
        expect([...finishedEvents.entries()].filter(([, n]) => n > 1)).toEqual([]);
        for (const op of ops) {
          const names = (await db.steps.list(op.id)).map((st) => st.name);
          expect(new Set(names).size).toBe(names.length);
        }
      } finally {
        await api?.close();
        await h?.close();
        await store.destroy();
        quiet.mockRestore();
      }
    });
  }
}
