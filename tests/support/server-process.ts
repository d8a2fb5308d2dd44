/**
 * A real `knot server` child process (node dist/cli/main.js server) for replica tests: configured
 * only through KNOT_* environment variables, on a fixed port (so a restart comes back where the
 * balancer and the agents dial), ready when it logs "API listening", killed with SIGKILL (a crashed
 * host: no graceful close of its connections) and started again. The sibling of ./worker-process.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './worker-process';

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

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number | null;
  readonly alive: boolean;
  /** how many times it has been started */
  readonly starts: number;
  /** starts (or starts again) the child and waits until it listens */
  start(): Promise<void>;
  /** SIGKILL; resolves when the process is gone */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period */
  stop(): Promise<void>;
  /** the last few KB of its output */
  output(): string;
}

export function serverProcess(opts: ServerProcessOptions): ServerProcess {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'knot-server-'));
  const url = `http://127.0.0.1:${opts.port}`;
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

  const sp: ServerProcess = {
    url,
    port: opts.port,
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
      const c = spawn(process.execPath, [CLI, 'server'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      let seen = '';
      const onData = (d: Buffer) => {
        out = (out + d.toString()).slice(-8000);
        seen = (seen + d.toString()).slice(-2000);
        if (ready && seen.includes('API listening')) {
          ready();
          ready = null;
        }
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        readyP.then(() => 'ready' as const),
        exited.then(() => 'exited' as const),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), opts.readyTimeoutMs ?? 60_000))),
      ]);
      clearTimeout(timer);
      if (outcome !== 'ready') {
        if (outcome === 'timeout') await sp.kill();
        throw new Error(`knot server on ${url} did not start (${outcome}):\n${out.slice(-3000)}`);
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
  process.once('exit', () => {
    if (isAlive) child?.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });
  return sp;
}
