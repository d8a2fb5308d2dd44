/**
 * API: with BENCH_API_SPACES (10,000) spaces stored, GET /api/v1/spaces?limit=50 (first page, and
 * walking pages by cursor) and GET /api/v1/spaces/:id — p50/p99 and requests/s from our own
 * bounded-concurrency loop of typed-client calls on loopback, BENCH_API_SECONDS (10) each at BENCH_API_CONCURRENCY
 * (16). Then POST /api/v1/spaces/:id/start on distinct stopped spaces until the first non-202 (or
 * BENCH_API_STARTS, 2,000): accepted starts/s. Each accepted start records the operation and starts
 * its workflow on Temporal; no worker runs in this benchmark (acceptance only), so the workflows
 * wait in the task queue and do not load the machine.
 */
import { issueToken } from '../api/auth';
import { KnotApiError, KnotClient } from '../client';
import { newId } from '../core/names';
import { startBackend, temporalDbFromEnv } from './backend';
import { insertSpaces } from './bulk-spaces';
import { runFor } from './concurrency';
import { envInt } from './env';
import { benchLine, loadContext, contextFields, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { measureSpaceReads } from './requests';
import { round, summarize } from './stats';

export async function runApi(): Promise<string> {
  const count = envInt('BENCH_API_SPACES', 10_000);
  const seconds = envInt('BENCH_API_SECONDS', 10);
  const concurrency = envInt('BENCH_API_CONCURRENCY', 16);
  const maxStarts = envInt('BENCH_API_STARTS', 2000);
  const before = loadContext();
  const b = await startBackend({ api: true, worker: false, sandbox: { faults: { latencyMs: 0 } } });
  try {
    const user = await seedUser(b.store, 'bench');
    const { secret } = await issueToken(b.store, { id: newId(Date.now()), userId: user.id, name: 'bench', expiresAt: null }, Date.now());
    const tpl = await seedTemplate(b.store, seedTemplateInput('debian'));
    const seeding = performance.now();
    const ids = await insertSpaces(b.store, { count, ownerId: user.id, templateId: tpl.id, phase: () => 'stopped' });
    note(`api: ${count} spaces stored in ${Math.round(performance.now() - seeding)} ms`);
    const client = new KnotClient({ url: b.api!.url, token: secret, timeoutMs: 60_000 });

    const { list: first, paged: pages, get } = await measureSpaceReads(client, ids, { concurrency, seconds, label: 'api' });

    // starts: distinct stopped spaces, until the first refusal or error
    let accepted = 0;
    let firstRefusal = '';
    const startLatencies: number[] = [];
    const { elapsedMs } = await runFor({ concurrency, durationMs: 60_000, maxCalls: Math.min(maxStarts, ids.length) }, async (i) => {
      const t0 = performance.now();
      const res = await client.startSpace(ids[i]!).catch((e: unknown) => e as Error);
      startLatencies.push(performance.now() - t0);
      if (res instanceof Error) {
        firstRefusal ||= res instanceof KnotApiError ? `${res.status}: ${res.detail.slice(0, 200)}` : `error: ${res.message}`;
        return false;
      }
      accepted++;
      return true;
    });
    const starts = summarize(startLatencies);
    note(`api start: ${accepted} accepted in ${Math.round(elapsedMs)} ms${firstRefusal ? `, first refusal ${firstRefusal}` : ', no refusal'}`);
    const after = loadContext();
    return benchLine('api', {
      spaces: count,
      concurrency,
      seconds,
      list_p50: first.p50,
      list_p99: first.p99,
      list_rps: first.rps,
      list_errors: first.errors,
      list_paged_p50: pages.p50,
      list_paged_p99: pages.p99,
      list_paged_rps: pages.rps,
      list_paged_errors: pages.errors,
      get_p50: get.p50,
      get_p99: get.p99,
      get_rps: get.rps,
      get_errors: get.errors,
      start_accepted: accepted,
      start_accepted_per_s: round(accepted / (elapsedMs / 1000)),
      start_p50: round(starts.p50),
      start_p99: round(starts.p99),
      start_refused: firstRefusal ? firstRefusal.slice(0, 80) : 'none',
      start_worker: 'none(acceptance only)',
      ...contextFields(temporalDbFromEnv(), before, after),
    });
  } finally {
    await b.close();
  }
}
