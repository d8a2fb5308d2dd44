/**
 * A real `knot server` child process (node dist/cli/main.js server) for replica tests: configured
 * only through KNOT_* environment variables, on a fixed port (so a restart comes back where the
 * balancer and the agents dial), ready when it logs "API listening", killed with SIGKILL (a crashed
 * host: no graceful close of its connections) and started again. The sibling of ./worker-process.ts.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knotChild, type KnotChild } from './knot-child';

export interface ServerProcessOptions {
  port: number;
  temporalAddress: string;
  nomadAddr: string;
  /** the KNOT_* variables that open the store (and Redis) */
  storeEnv: Record<string, string>;
  /** base64 encryption key; every replica must share it */
  encryptKey: string;
  /** the first admin's token (KNOT_BOOTSTRAP_TOKEN) */
  bootstrapToken: string;
  extraEnv?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface ServerProcess extends KnotChild {
  readonly url: string;
  readonly port: number;
}

export function serverProcess(opts: ServerProcessOptions): ServerProcess {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'knot-server-'));
  const url = `http://127.0.0.1:${opts.port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    KNOT_LOG_LEVEL: 'info',
    KNOT_LOG_FORMAT: 'json',
    KNOT_LISTEN: `127.0.0.1:${opts.port}`,
    KNOT_SERVER_URL: url,
    KNOT_SERVER_TEMPORAL_ADDRESS: opts.temporalAddress,
    KNOT_SERVER_NOMAD_ADDR: opts.nomadAddr,
    KNOT_SERVER_DATA_DIR: path.join(cwd, '.data'),
    KNOT_ENCRYPT: opts.encryptKey,
    KNOT_BOOTSTRAP_TOKEN: opts.bootstrapToken,
    ...opts.storeEnv,
    ...opts.extraEnv,
  };

  return Object.assign(knotChild({ command: 'server', what: `knot server on ${url}`, cwd, env, readyText: 'API listening', ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}) }), { url, port: opts.port });
}
