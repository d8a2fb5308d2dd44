/**
 * The quota check's cost on the start path: the start operation timed (request → operation row
 * terminal, as bench/overhead.ts) for three owners, round-robin with the order rotating, a fresh
 * space per iteration (stopped again after, untimed):
 *  - `quota`: the owner has a generous user quota (computeUnits, storageUnits, maxSpaces) and the
 *    start runs the API's quota path: the space's units rendered from its template version
 *    (store/quota-guard.ts unitsOfSpaceIn) and `startGuard` inside the operation insert's transaction;
 *  - `none`: the same path for an owner with no quota at all (what the API does for such a user);
 *  - `bare`: no guard (the start path before quotas existed).
 * Target: `quota` start p50 ≤ 1.03× `bare` start p50. The guard's own time (units + transaction)
 * is recorded per arm too, a figure the machine's load hardly moves.
 *
 * Knobs: BENCH_QUOTA_N (30 per arm), BENCH_QUOTA_WARMUP (3), BENCH_LATENCY_MS (10).
 */
import { startGuard, unitsOfSpaceIn } from '../store/quota-guard';
import type { OperationGuard } from '../temporal/lifecycle-client';
import { startBackend, temporalDbFromEnv, type Backend } from './backend';
import { envInt } from './env';
import { createSpace, runOperation } from './knot-ops';
import { benchLine, contextFields, loadContext, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser, type SeededTemplate, type SeededUser } from './seed';
import { round, SampleSet } from './stats';

const ARMS = ['quota', 'none', 'bare'] as const;
type Arm = (typeof ARMS)[number];

/** What the API builds for a start (api/routes/spaces.ts quotaGuardOf), timed into `spent`. */
function apiGuard(b: Backend, spaceId: string, tpl: SeededTemplate, spent: { ms: number }): () => Promise<OperationGuard> {
  return async () => {
    const t0 = performance.now();
    const space = (await b.store.spaces.get(spaceId))!;
    const template = (await b.store.templates.get(tpl.id))!;
    const content = (await b.store.templates.getVersion(tpl.id, tpl.version))?.content ?? {};
    const units = await unitsOfSpaceIn(b.store, b.deps.settings, space, template, content);
    const guard = startGuard(space, units, true, Date.now());
    spent.ms += performance.now() - t0;
    return async (tx) => {
      const t1 = performance.now();
      await guard(tx);
      spent.ms += performance.now() - t1;
    };
  };
}

export async function runQuotaOverhead(): Promise<string> {
  const iterations = envInt('BENCH_QUOTA_N', 30);
  const warmup = envInt('BENCH_QUOTA_WARMUP', 3);
  const latencyMs = envInt('BENCH_LATENCY_MS', 10);
  const before = loadContext();
  const b = await startBackend({ sandbox: { allocRunningDelayMs: 300, healthyDelayMs: 200, stopDelayMs: 50, faults: { latencyMs } } });
  try {
    const users: Record<Arm, SeededUser> = { quota: await seedUser(b.store, 'quota'), none: await seedUser(b.store, 'none'), bare: await seedUser(b.store, 'bare') };
    await b.store.quotas.setLimits('user', users.quota.id, { maxSpaces: 10_000, computeUnits: 10_000, storageUnits: 1_000_000 }, Date.now());
    const tpl = await seedTemplate(b.store, seedTemplateInput('debian'));
    const samples = new SampleSet();
    const guardMs: Record<Arm, number[]> = { quota: [], none: [], bare: [] };
    let failures = 0;

    const cycle = async (arm: Arm, i: number, record: boolean) => {
      const user = users[arm];
      const { spaceId, timed: created } = await createSpace(b, user, tpl, `${arm}${i}`);
      if (!created.ok) throw new Error(`create failed: ${created.error}`);
      const spent = { ms: 0 };
      const t = await runOperation(b, { spaceId, type: 'start', user, templateName: tpl.name }, arm === 'bare' ? undefined : apiGuard(b, spaceId, tpl, spent));
      const stop = await runOperation(b, { spaceId, type: 'stop', user, templateName: tpl.name });
      if (!t.ok || !stop.ok) {
        failures++;
        note(`${arm} ${i} failed: ${t.error ?? stop.error}`);
        return;
      }
      if (!record) return;
      samples.add(`${arm}_start`, t.latencyMs);
      if (arm !== 'bare') guardMs[arm].push(spent.ms);
    };

    note(`quota-overhead: ${warmup} warm-up + ${iterations} iterations per arm (${ARMS.join(', ')}), latency ${latencyMs} ms`);
    for (let i = 0; i < warmup + iterations; i++) {
      for (let k = 0; k < ARMS.length; k++) await cycle(ARMS[(i + k) % ARMS.length]!, i, i >= warmup);
      if ((i + 1) % 10 === 0) note(`quota-overhead: ${i + 1}/${warmup + iterations}`);
    }

    const fields: Record<string, number> = {};
    for (const arm of ARMS) {
      const v = samples.summary(`${arm}_start`);
      const g = guardMs[arm].slice().sort((a, c) => a - c);
      const gp50 = g.length ? g[Math.ceil(g.length / 2) - 1]! : 0;
      note(`${arm.padEnd(5)} start n=${v.n} p50=${round(v.p50)} p95=${round(v.p95)} p99=${round(v.p99)} min=${round(v.min)} max=${round(v.max)} ms; guard (units + transaction) p50 ${round(gp50, 2)} ms`);
      fields[`${arm}_start_p50`] = round(v.p50);
      fields[`${arm}_start_p95`] = round(v.p95);
      fields[`${arm}_guard_p50_ms`] = round(gp50, 2);
    }
    const ratio = (a: Arm, c: Arm) => round(samples.summary(`${a}_start`).p50 / samples.summary(`${c}_start`).p50, 4);
    const quotaVsBare = ratio('quota', 'bare');
    const after = loadContext();
    return benchLine('quota-overhead', {
      start_p50_ratio_quota_vs_bare: quotaVsBare,
      start_p50_ratio_quota_vs_none: ratio('quota', 'none'),
      start_p50_ratio_none_vs_bare: ratio('none', 'bare'),
      ...fields,
      target_met: quotaVsBare <= 1.03,
      n: iterations,
      failures,
      latency_ms: latencyMs,
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    await b.close();
  }
}
