/**
 * The stores side by side: for each store in BENCH_STORES (default `sqlite,mysql,redis`) and each
 * size in BENCH_STORE_SIZES (default `10000,100000`), a fresh scratch store (store/scratch.ts)
 * holding that many spaces — 60% running (1 in 60 of those past the template's maxUptime of 1 h),
 * 30% stopped, 10% deleted — then, through the API on loopback with the typed client,
 * BENCH_STORE_SECONDS (5) each at BENCH_API_CONCURRENCY (16): GET /api/v1/spaces?limit=50 (first
 * page), walking every page by cursor, and GET /api/v1/spaces/:id; then the auto-stop sweep as the
 * worker runs it (it starts a stop for each space due through the real LifecycleClient: Temporal
 * accepts them, no worker runs), and the same sweep again (nothing due any more: the pure scan).
 * MariaDB and Redis are the servers `scripts/services.sh start` runs (KNOT_TEST_MYSQL,
 * KNOT_TEST_REDIS); a store whose server is not given is skipped with a note.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { issueToken } from '../api/auth';
import { KnotClient } from '../client';
import { newId } from '../core/names';
import { openScratchStore } from '../store/scratch';
import type { StoreKind } from '../store/store';
import { startBackend, temporalDbFromEnv } from './backend';
import { insertSweepMix, sweepShare } from './bulk-spaces';
import { envInt } from './env';
import { autoStopFields, benchLine, contextFields, loadContext, note } from './report';
import { measureSpaceReads } from './requests';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { round, timedMs } from './stats';

const KINDS: readonly StoreKind[] = ['sqlite', 'mysql', 'redis'];

function listFromEnv<T extends string>(name: string, fallback: readonly T[], allowed?: readonly T[]): T[] {
  const raw = process.env[name];
  const items = raw ? (raw.split(',').map((s) => s.trim()).filter(Boolean) as T[]) : [...fallback];
  const bad = allowed ? items.filter((i) => !allowed.includes(i)) : [];
  if (bad.length > 0) throw new Error(`${name}: unknown ${bad.join(', ')}; known: ${allowed!.join(', ')}`);
  return items;
}

async function benchOne(kind: StoreKind, count: number, seconds: number, concurrency: number): Promise<string> {
  const before = loadContext();
  const scratch = await openScratchStore(kind, { mysql: process.env.KNOT_TEST_MYSQL, redis: process.env.KNOT_TEST_REDIS });
  const b = await startBackend({ store: scratch.store, api: true, worker: false, sandbox: { faults: { latencyMs: 0 } } });
  try {
    const store = scratch.store;
    const user = await seedUser(store, 'bench');
    const { secret } = await issueToken(store, { id: newId(Date.now()), userId: user.id, name: 'bench', expiresAt: null }, Date.now());
    const tpl = await seedTemplate(store, { ...seedTemplateInput('debian'), maxUptime: '1h' });
    const seeding = await timedMs(() => insertSweepMix(store, { count, ownerId: user.id, templateId: tpl.id, appliedVersion: tpl.version, now: Date.now(), batchSize: 1000 }));
    const live = seeding.result.filter((_, i) => sweepShare(i) !== 'deleted');
    note(`stores ${kind} ${count}: spaces stored in ${Math.round(seeding.ms)} ms`);

    const client = new KnotClient({ url: b.api!.url, token: secret, timeoutMs: 60_000 });
    const { list, paged, get } = await measureSpaceReads(client, live, { concurrency, seconds, label: `stores ${kind} ${count}` });

    const acts = createActivities(b.deps);
    const env = new MockActivityEnvironment();
    const sweep = () => env.run(acts.autoStopSweep, {}) as ReturnType<typeof acts.autoStopSweep>;
    const autoStop = await timedMs(sweep);
    const rescan = await timedMs(sweep);
    note(`stores ${kind} ${count}: auto-stop ${Math.round(autoStop.ms)} ms ${JSON.stringify(autoStop.result)}, again ${Math.round(rescan.ms)} ms ${JSON.stringify(rescan.result)}`);
    const after = loadContext();
    return benchLine('stores', {
      kind,
      spaces: count,
      seed_ms: round(seeding.ms),
      concurrency,
      seconds,
      list_rps: list.rps,
      list_p50: list.p50,
      list_p99: list.p99,
      list_errors: list.errors,
      list_paged_rps: paged.rps,
      list_paged_p50: paged.p50,
      list_paged_p99: paged.p99,
      list_paged_errors: paged.errors,
      get_rps: get.rps,
      get_p50: get.p50,
      get_p99: get.p99,
      get_errors: get.errors,
      ...autoStopFields(autoStop, rescan),
      ...contextFields(temporalDbFromEnv(), before, after, kind),
    });
  } finally {
    await b.close();
    await scratch.cleanup();
  }
}

export async function runStores(): Promise<string> {
  const kinds = listFromEnv<StoreKind>('BENCH_STORES', KINDS, KINDS);
  const sizes = listFromEnv('BENCH_STORE_SIZES', ['10000', '100000']).map(Number);
  const seconds = envInt('BENCH_STORE_SECONDS', 5);
  const concurrency = envInt('BENCH_API_CONCURRENCY', 16);
  const lines: string[] = [];
  for (const kind of kinds) {
    if ((kind === 'mysql' && !process.env.KNOT_TEST_MYSQL) || (kind === 'redis' && !process.env.KNOT_TEST_REDIS)) {
      note(`stores: ${kind} skipped: no server (run \`eval "$(bash scripts/services.sh start)"\` first)`);
      continue;
    }
    for (const size of sizes) lines.push(await benchOne(kind, size, seconds, concurrency));
  }
  return lines.join('\n');
}
