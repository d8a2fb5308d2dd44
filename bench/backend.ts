/**
 * An in-process knot backend for benchmarks, every part real: a Temporal dev server (the
 * `temporal` CLI, file database in a temp dir, its own free port), the Nomad sandbox over HTTP with
 * the given delays and latency, a migrated SQLite store in a temp file (or the store given), one worker, the
 * LifecycleClient, and optionally the API. The worker and the API run in this process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { startDevServer, freePort, type DevServer } from '../temporal/dev-server';
import type { LifecycleClient } from '../temporal/lifecycle-client';
import { createBackend, serverSettings } from '../worker/backend';
import { installQuietRuntime } from '../worker/worker';
import { startSandbox, type Sandbox, type SandboxOptions, type SandboxState } from '../nomad/sandbox';
import { NomadClient } from '../nomad/client';
import type { Store } from '../store/store';
import { createDb, createSqlStore } from '../store/sql';
import { loadConfig } from '../core/config';
import { startApiServer, type ApiServer } from '../api/server';
import { bootstrapAdmin } from '../api/auth';
import type { ActivityDeps, ServerSettings } from '../activities/deps';
import { note } from './report';
import { startSandboxProcess } from './sandbox-process';

/** What `knot worker` derives from a configuration with only these keys set (the rest at their defaults). */
export const BENCH_SETTINGS: ServerSettings = serverSettings(
  loadConfig('', { KNOT_ENCRYPT: Buffer.alloc(32, 7).toString('base64'), KNOT_SERVER_WILDCARD_DOMAIN: '*.knot.bench', KNOT_SERVER_AGENT_ENDPOINT: '127.0.0.1:3010' }),
);

export const ADMIN_TOKEN = 'knot_bench_bootstrap_admin_token_0001';

export interface BackendOptions {
  sandbox?: SandboxOptions;
  /** run the sandbox in a process of its own (bench/sandbox-process.ts): its CPU then is not this process's */
  sandboxProcess?: boolean;
  /** ActivityDeps.pollIntervalMs; undefined = the activities' default (100 ms, what `knot worker` uses) */
  pollIntervalMs?: number;
  /** start a worker (default true) */
  worker?: boolean;
  /** also serve the API on loopback */
  api?: boolean;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  /** the store to run on (the caller closes it); default a fresh SQLite file in a temp dir */
  store?: Store;
  /** Temporal dev server persistence: a SQLite file like `knot dev` (default), or in memory */
  temporalDb?: 'file' | 'memory';
}

/** BENCH_TEMPORAL_DB=memory runs the dev server without --db-filename. */
export function temporalDbFromEnv(): 'file' | 'memory' {
  return process.env.BENCH_TEMPORAL_DB === 'memory' ? 'memory' : 'file';
}

/** BENCH_TEMPORAL_ARGS: more dev server arguments, space-separated (e.g. `--sqlite-pragma synchronous=NORMAL`). */
export function temporalArgsFromEnv(): string[] {
  return (process.env.BENCH_TEMPORAL_ARGS ?? '').split(' ').filter(Boolean);
}

export interface Backend {
  store: Store;
  /** the in-process sandbox; null when it runs in a process of its own */
  sandbox: Sandbox | null;
  /** the sandbox's process when it runs in one */
  sandboxPid: number | null;
  /** what the sandbox holds, in either mode */
  sandboxState(): Promise<SandboxState>;
  nomad: NomadClient;
  devServer: DevServer;
  client: Client;
  lifecycle: LifecycleClient;
  taskQueue: string;
  deps: ActivityDeps;
  worker: Worker | null;
  api: ApiServer | null;
  adminToken: string;
  close(): Promise<void>;
}

let bundlePath: Promise<string> | null = null;
/** Bundles the compiled workflows once per process (dist/workflows), like the test global setup. */
function workflowBundle(dir: string): Promise<string> {
  bundlePath ??= (async () => {
    const started = Date.now();
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve(path.join(__dirname, '..', 'workflows')),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => note(`bundle: ${m}`), log() {} },
    });
    const file = path.join(dir, 'workflow-bundle.js');
    writeFileSync(file, code);
    note(`workflow bundle built in ${Date.now() - started} ms`);
    return file;
  })();
  return bundlePath;
}

const bundleDir = mkdtempSync(path.join(os.tmpdir(), 'knot-bench-bundle-'));
process.on('exit', () => rmSync(bundleDir, { recursive: true, force: true }));

export async function startBackend(opts: BackendOptions = {}): Promise<Backend> {
  installQuietRuntime();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-bench-'));
  const closers: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (e) {
        note(`close: ${(e as Error).message}`);
      }
    }
  };
  try {
    const bundle = await workflowBundle(bundleDir);
    const temporalDb = opts.temporalDb ?? temporalDbFromEnv();
    const devServer = await startDevServer({ port: await freePort(), uiPort: null, metricsPort: await freePort(), extraArgs: temporalArgsFromEnv(), ...(temporalDb === 'file' ? { dbFilename: path.join(dir, 'temporal.db') } : {}) });
    closers.push(() => devServer.stop());
    const sandboxOptions = { port: 0, ...opts.sandbox };
    const ownSandbox = opts.sandboxProcess ? await startSandboxProcess(sandboxOptions) : null;
    const sandbox = ownSandbox ? null : await startSandbox(sandboxOptions);
    closers.push(() => (ownSandbox ?? sandbox!).close());
    const sandboxState = async () => (ownSandbox ? ownSandbox.state() : sandbox!.state());
    const nomad = new NomadClient({ addr: (ownSandbox ?? sandbox!).url, timeoutMs: 30_000 });
    closers.push(() => nomad.close());
    let store = opts.store;
    if (!store) {
      const target = { client: 'sqlite' as const, filename: path.join(dir, 'knot.db') };
      const own = createSqlStore(createDb(target), target);
      closers.push(() => own.close());
      await own.migrate();
      store = own;
    }

    const connection = await Connection.connect({ address: devServer.address });
    closers.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = 'knot-bench';
    const backend = createBackend({
      store,
      nomad,
      client,
      taskQueue,
      settings: BENCH_SETTINGS,
      logger: pino({ level: 'silent' }),
      pollIntervalMs: opts.pollIntervalMs,
    });
    const { lifecycle, deps } = backend;

    let worker: Worker | null = null;
    if (opts.worker !== false) {
      const workerConnection = await NativeConnection.connect({ address: devServer.address });
      closers.push(() => workerConnection.close());
      const running = await backend.runWorker({
        connection: workerConnection,
        namespace: 'default',
        workflowBundlePath: bundle,
        ...(opts.maxConcurrentActivities ? { maxConcurrentActivities: opts.maxConcurrentActivities } : {}),
        ...(opts.maxConcurrentWorkflowTasks ? { maxConcurrentWorkflowTasks: opts.maxConcurrentWorkflowTasks } : {}),
      }, (e: unknown) => note(`worker stopped: ${(e as Error).message}`));
      closers.push(running.stop);
      worker = running.worker;
    }

    const config = loadConfig('', { KNOT_ENCRYPT: BENCH_SETTINGS.encryptKey, KNOT_BOOTSTRAP_TOKEN: ADMIN_TOKEN, KNOT_LOG_LEVEL: 'silent' });
    await bootstrapAdmin(store, config, pino({ level: 'silent' }));
    let api: ApiServer | null = null;
    if (opts.api) {
      const server = await startApiServer(
        {
          store,
          config,
          logger: pino({ level: 'silent' }),
          lifecycle,
          nomad: { parseJob: (hcl) => nomad.parseJob(hcl) },
          health: { checks: { store: async () => true } },
          // the load generator is one client IP; failures are not expected, but never let it be throttled
          authFailures: { max: 1_000_000, windowMs: 1000 },
        },
        { host: '127.0.0.1', port: 0 },
      );
      closers.push(() => server.close());
      api = server;
    }
    return { store, sandbox, sandboxPid: ownSandbox?.pid ?? null, sandboxState, nomad, devServer, client, lifecycle, taskQueue, deps, worker, api, adminToken: ADMIN_TOKEN, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** CPU seconds (user+system) a process has used so far, from /proc/<pid>/stat; null off Linux. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    // fields after the `(comm)`: state is field 3, utime 14, stime 15 (1-based)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / 100; // USER_HZ: 100 on Linux
  } catch {
    return null;
  }
}
