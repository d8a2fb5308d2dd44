/**
 * A real `knot worker` child process (node dist/cli/main.js worker) for crash tests: configured
 * only through KNOT_* environment variables, ready when it logs "worker polling", killed with
 * SIGKILL (no graceful shutdown, in-flight activities are abandoned) and started again.
 * Needs a fresh `npm run build` (npm test does it) and the integration global setup's bundle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../dist/cli/main.js');

export interface WorkerProcessOptions {
  taskQueue: string;
  temporalAddress: string;
  nomadAddr: string;
  /** the KNOT_* variables that open the store (TestStore.env) */
  storeEnv: Record<string, string>;
  /** base64 encryption key (the harness's testSettings.encryptKey) */
  encryptKey: string;
  /** prebuilt workflow bundle so the child starts in ~1-2 s; default KNOT_TEST_WORKFLOW_BUNDLE */
  bundle?: string;
  /** per-call Nomad client timeout, e.g. '2s' (default 30s) */
  nomadTimeout?: string;
  extraEnv?: Record<string, string>;
  /** ms to wait for "worker polling" */
  readyTimeoutMs?: number;
}

export interface WorkerProcess {
  readonly pid: number | null;
  readonly alive: boolean;
  /** starts (or starts again) the child and waits until it polls its task queue */
  start(): Promise<void>;
  /** SIGKILL: no shutdown at all, like a crashed host; resolves when the process is gone */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period */
  stop(): Promise<void>;
  /** how many times the child has been started */
  readonly starts: number;
  /** the last few KB of the child's output, for failure messages */
  output(): string;
}

export function workerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const bundle = opts.bundle ?? process.env.KNOT_TEST_WORKFLOW_BUNDLE;
  if (!bundle) throw new Error('worker process needs a workflow bundle (KNOT_TEST_WORKFLOW_BUNDLE from the global setup)');
  // an empty cwd: no ./knot.yml of the developer's is picked up, `.data` lands in a temp dir
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'knot-worker-'));
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let isAlive = false;
  let starts = 0;
  let out = '';
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    KNOT_LOG_LEVEL: 'info',
    KNOT_SERVER_TEMPORAL_ADDRESS: opts.temporalAddress,
    KNOT_SERVER_TEMPORAL_TASK_QUEUE: opts.taskQueue,
    KNOT_SERVER_NOMAD_ADDR: opts.nomadAddr,
    KNOT_SERVER_NOMAD_TIMEOUT: opts.nomadTimeout ?? '30s',
    KNOT_SERVER_SCHEDULES_ENABLED: 'false',
    KNOT_SERVER_DATA_DIR: path.join(cwd, '.data'),
    KNOT_ENCRYPT: opts.encryptKey,
    KNOT_WORKFLOW_BUNDLE: bundle,
    ...opts.storeEnv,
    ...opts.extraEnv,
  };

  const wp: WorkerProcess = {
    get pid() {
      return child?.pid ?? null;
    },
    get alive() {
      return isAlive;
    },
    get starts() {
      return starts;
    },
    output: () => out,
    async start() {
      if (isAlive) return;
      starts++;
      const c = spawn(process.execPath, [CLI, 'worker'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      isAlive = true;
      exited = new Promise<void>((resolve) => {
        c.once('exit', () => {
          isAlive = false;
          resolve();
        });
      });
      let ready: (() => void) | null = null;
      const readyP = new Promise<void>((r) => (ready = r));
      const onData = (d: Buffer) => {
        out = (out + d.toString()).slice(-8000);
        if (ready && out.includes('worker polling')) {
          ready();
          ready = null;
        }
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
      const timeoutMs = opts.readyTimeoutMs ?? 60_000;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        readyP.then(() => 'ready' as const),
        exited.then(() => 'exited' as const),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (outcome !== 'ready') {
        if (outcome === 'timeout') await wp.kill();
        throw new Error(`knot worker did not start (${outcome}):\n${out.slice(-3000)}`);
      }
    },
    async kill() {
      if (!child || !isAlive) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!child || !isAlive) return;
      const c = child;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  // best effort: never leave a child behind when the test process exits
  process.once('exit', () => {
    if (isAlive) child?.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });
  return wp;
}
