/**
 * A real `knot worker` child process (node dist/cli/main.js worker) for crash tests: configured
 * only through KNOT_* environment variables, ready when it logs "worker polling", killed with
 * SIGKILL (no graceful shutdown, in-flight activities are abandoned) and started again.
 * Needs a fresh `npm run build` (npm test does it) and the integration global setup's bundle.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knotChild, type KnotChild } from './knot-child';

export { CLI } from './knot-child';

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
  /** appends every start's whole output here */
  logFile?: string;
}

export type WorkerProcess = KnotChild;

export function workerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const bundle = opts.bundle ?? process.env.KNOT_TEST_WORKFLOW_BUNDLE;
  if (!bundle) throw new Error('worker process needs a workflow bundle (KNOT_TEST_WORKFLOW_BUNDLE from the global setup)');
  // an empty cwd: no ./knot.yml of the developer's is picked up, `.data` lands in a temp dir
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'knot-worker-'));
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

  return knotChild({ command: 'worker', what: 'knot worker', cwd, env, readyText: 'worker polling', ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}), ...(opts.logFile ? { logFile: opts.logFile } : {}) });
}
