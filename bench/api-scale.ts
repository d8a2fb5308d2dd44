/**
 * The API at 10,000 spaces (issue 24 part 3): BENCH_API_SPACES (10,000) spaces of one user in a
 * scratch store (the sweep mix: 60 % running, each with a connected agent record, 30 % stopped,
 * 10 % deleted), the API in a process of its own (bench/api-server.ts: `knot server`'s parts, JSON
 * access logs at info into a file, metrics on), and a plain keep-alive HTTP load generator in this
 * process (no typed client: its response parsing would be load-generator CPU on the same 2 cores).
 * Measured for BENCH_API_SECONDS (10) each: GET /api/v1/spaces?limit=50 (the first page) and
 * GET /api/v1/spaces/:id at BENCH_API_CONCURRENCY (16) — req/s — and the same two at concurrency 1 —
 * p99. Also the API process's CPU per request (from /proc).
 *
 * BENCH_API_STORES: `sqlite` (default; the embedded store `knot dev` and a single server use),
 * `mysql+redis` (MariaDB, agent state in Redis), `mysql`, `redis` — the servers of
 * `scripts/services.sh start` (KNOT_TEST_MYSQL, KNOT_TEST_REDIS). BENCH_API_CPU_PROF=<dir> runs the
 * API under `node --cpu-prof` (one .cpuprofile per store in that dir); BENCH_API_ONLY=list|get
 * measures that read alone (for a profile of it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { issueToken } from '../api/auth';
import { loadConfig } from '../core/config';
import { newId } from '../core/names';
import { createAgentStateStore } from '../store/agent-state';
import { connectRedis } from '../store/open';
import { openScratchStore, type ScratchStore } from '../store/scratch';
import type { StoreKind } from '../store/store';
import { processCpuSeconds } from './backend';
import { insertSweepMix, sweepShare } from './bulk-spaces';
import { runFor } from './concurrency';
import { envInt } from './env';
import { benchLine, contextFields, loadContext, note, type BenchFields } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { round, summarize, timedMs } from './stats';

const ENCRYPT = Buffer.alloc(32, 7).toString('base64');
const SETUPS = ['sqlite', 'mysql+redis', 'mysql', 'redis'] as const;
type Setup = (typeof SETUPS)[number];

interface Scenario {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** API process CPU per request, ms */
  cpuMs: number;
}

/** GET `path` with the bearer token on a keep-alive agent: the status once the body has been read whole. */
function getter(base: string, token: string, concurrency: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(base);
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  const get = (p: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get({ host: url.hostname, port: url.port, path: p, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  return { get, close: () => agent.destroy() };
}

async function measure(pid: number | undefined, concurrency: number, seconds: number, request: (i: number) => Promise<number>): Promise<Scenario> {
  const latencies: number[] = [];
  let errors = 0;
  const cpu0 = processCpuSeconds(pid) ?? 0;
  const { calls, elapsedMs } = await runFor({ concurrency, durationMs: seconds * 1000 }, async (i) => {
    const t0 = performance.now();
    const status = await request(i).catch(() => 0);
    latencies.push(performance.now() - t0);
    if (status !== 200) errors++;
  });
  const cpu = (processCpuSeconds(pid) ?? 0) - cpu0;
  const s = summarize(latencies);
  return { requests: calls, errors, rps: round(calls / (elapsedMs / 1000)), p50: round(s.p50), p99: round(s.p99), cpuMs: round((cpu * 1000) / Math.max(1, calls)) };
}

function storeEnv(setup: Setup, scratch: ScratchStore): Record<string, string> {
  const env: Record<string, string> = { ...scratch.env, KNOT_ENCRYPT: ENCRYPT, KNOT_LOG_LEVEL: 'info', KNOT_LOG_FORMAT: 'json' };
  if (setup === 'mysql+redis') {
    const url = new URL(process.env.KNOT_TEST_REDIS!);
    Object.assign(env, { KNOT_SERVER_REDIS_ENABLED: 'true', KNOT_SERVER_REDIS_HOST: url.host, KNOT_SERVER_REDIS_PREFIX: `knot-bench-${randomBytes(4).toString('hex')}:` });
  }
  return env;
}

function startApiProcess(env: Record<string, string>, profileDir: string | null, logFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(path.join(__dirname, 'api-server.js'), [], {
    env: { ...process.env, ...env, BENCH_API_LOG_FILE: logFile },
    execArgv: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`the API process exited (${code}) before listening`)));
  });
}

async function stopApiProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function benchOne(setup: Setup, count: number, seconds: number, concurrency: number, profileDir: string | null): Promise<string> {
  const before = loadContext();
  const kind: StoreKind = setup === 'mysql+redis' ? 'mysql' : setup;
  const scratch = await openScratchStore(kind, { mysql: process.env.KNOT_TEST_MYSQL, redis: process.env.KNOT_TEST_REDIS });
  const env = storeEnv(setup, scratch);
  const cfg = loadConfig('', env);
  const redis = setup === 'mysql+redis' ? await connectRedis(cfg) : null;
  const agentState = createAgentStateStore(cfg, scratch.store, redis);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-bench-api-'));
  let child: ChildProcess | null = null;
  let live: string[] = [];
  try {
    const store = scratch.store;
    const user = await seedUser(store, 'bench');
    const { secret } = await issueToken(store, { id: newId(Date.now()), userId: user.id, name: 'bench', expiresAt: null }, Date.now());
    const tpl = await seedTemplate(store, { ...seedTemplateInput('debian'), maxUptime: '1h' });
    const now = Date.now();
    const seeding = await timedMs(async () => {
      const ids = await insertSweepMix(store, { count, ownerId: user.id, templateId: tpl.id, appliedVersion: tpl.version, now, batchSize: 1000 });
      // every running space has a connected agent, as in production: the views read its record
      const running = ids.filter((_, i) => sweepShare(i) === 'running' || sweepShare(i) === 'due');
      for (const id of running) await agentState.report(id, { services: { terminal: true, ssh: true, ports: [8080], httpPorts: [8080] }, lastActivity: now - 60_000, version: 'bench', sessions: 0 }, now);
      return ids;
    });
    live = seeding.result.filter((_, i) => sweepShare(i) !== 'deleted');
    note(`api-scale ${setup}: ${count} spaces (${live.length} live) stored in ${Math.round(seeding.ms)} ms`);

    const started = await startApiProcess(env, profileDir, path.join(dir, 'api.log'));
    child = started.child;
    const pid = child.pid;
    const http16 = getter(started.url, secret, concurrency);
    const http1 = getter(started.url, secret, 1);
    const list = (h: typeof http16) => () => h.get('/api/v1/spaces?limit=50').then((r) => r.status);
    const one = (h: typeof http16) => (i: number) => h.get(`/api/v1/spaces/${live[(i * 7919) % live.length]}`).then((r) => r.status);
    const sample = await http16.get('/api/v1/spaces?limit=50');
    const items = (JSON.parse(sample.body) as { items: unknown[] }).items.length;
    if (sample.status !== 200 || items !== 50) throw new Error(`first page: ${sample.status}, ${items} items`);
    // warm-up: JIT, page caches, pools
    await measure(pid, concurrency, 2, list(http16));
    await measure(pid, concurrency, 2, one(http16));
    const run = async (name: string, c: number, fn: (i: number) => Promise<number>) => {
      const s = await measure(pid, c, seconds, fn);
      note(`api-scale ${setup} ${name}: ${s.requests} requests, ${s.errors} errors, ${s.rps} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms, API CPU ${s.cpuMs} ms/request`);
      return s;
    };
    // BENCH_API_ONLY=list|get: that scenario alone (e.g. for a profile of it); the other reads as skipped
    const only = process.env.BENCH_API_ONLY ?? '';
    const skipped: Scenario = { requests: 0, errors: 0, rps: 0, p50: 0, p99: 0, cpuMs: 0 };
    const doList = only === '' || only === 'list';
    const doGet = only === '' || only === 'get';
    const list16 = doList ? await run(`list c${concurrency}`, concurrency, list(http16)) : skipped;
    const get16 = doGet ? await run(`get c${concurrency}`, concurrency, one(http16)) : skipped;
    const list1 = doList ? await run('list c1', 1, list(http1)) : skipped;
    const get1 = doGet ? await run('get c1', 1, one(http1)) : skipped;
    http16.close();
    http1.close();
    const fields = (prefix: string, s: Scenario): BenchFields => ({
      [`${prefix}_rps`]: s.rps,
      [`${prefix}_p50`]: s.p50,
      [`${prefix}_p99`]: s.p99,
      [`${prefix}_errors`]: s.errors,
      [`${prefix}_cpu_ms`]: s.cpuMs,
    });
    const after = loadContext();
    return benchLine('api-scale', {
      setup,
      spaces: count,
      live: live.length,
      concurrency,
      seconds,
      ...fields('list', list16),
      ...fields('get', get16),
      ...fields('list_c1', list1),
      ...fields('get_c1', get1),
      ...contextFields('none', before, after, setup),
    });
  } finally {
    if (child) await stopApiProcess(child);
    await agentState.forget(live).catch(() => undefined);
    await redis?.quit();
    await scratch.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runApiScale(): Promise<string> {
  const raw = process.env.BENCH_API_STORES ?? 'sqlite';
  const setups = raw.split(',').map((s) => s.trim()).filter(Boolean) as Setup[];
  const bad = setups.filter((s) => !SETUPS.includes(s));
  if (bad.length > 0) throw new Error(`BENCH_API_STORES: unknown ${bad.join(', ')}; known: ${SETUPS.join(', ')}`);
  const count = envInt('BENCH_API_SPACES', 10_000);
  const seconds = envInt('BENCH_API_SECONDS', 10);
  const concurrency = envInt('BENCH_API_CONCURRENCY', 16);
  const profileDir = process.env.BENCH_API_CPU_PROF || null;
  const lines: string[] = [];
  for (const setup of setups) {
    if ((setup.startsWith('mysql') && !process.env.KNOT_TEST_MYSQL) || (setup.includes('redis') && !process.env.KNOT_TEST_REDIS)) {
      note(`api-scale: ${setup} skipped: no server (run \`eval "$(bash scripts/services.sh start)"\` first)`);
      continue;
    }
    lines.push(await benchOne(setup, count, seconds, concurrency, profileDir));
  }
  return lines.join('\n');
}
