/**
 * A real `knot <command>` child process (node dist/cli/main.js) for crash and replica tests:
 * started (again) until it logs `readyText`, SIGKILLed like a crashed host, or stopped with SIGTERM
 * (SIGKILL after a grace period). What ./worker-process.ts and ./server-process.ts share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../dist/cli/main.js');

export interface KnotChild {
  readonly pid: number | null;
  readonly alive: boolean;
  /** how many times the child has been started */
  readonly starts: number;
  /** starts (or starts again) the child and waits until it is ready */
  start(): Promise<void>;
  /** SIGKILL: no shutdown at all; resolves when the process is gone */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period */
  stop(): Promise<void>;
  /** the last few KB of the child's output, for failure messages */
  output(): string;
}

/** `logFile`: every start's whole output is appended there too (a long scenario's evidence). */
export function knotChild(opts: { command: string; what: string; cwd: string; env: NodeJS.ProcessEnv; readyText: string; readyTimeoutMs?: number; logFile?: string }): KnotChild {
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let isAlive = false;
  let starts = 0;
  let out = '';
  // best effort: evidence, never a reason for the child's test to fail
  const keep = (d: string | Buffer) => {
    if (!opts.logFile) return;
    try {
      appendFileSync(opts.logFile, d);
    } catch {
      /* the folder is gone: the test is over */
    }
  };
  const self: KnotChild = {
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
      const c = spawn(process.execPath, [CLI, opts.command], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      // since this start only: a restart must not be ready on the last run's line
      let seen = '';
      keep(`--- ${opts.what} start ${starts} at ${new Date().toISOString()}\n`);
      const onData = (d: Buffer) => {
        keep(d);
        out = (out + d.toString()).slice(-8000);
        seen = (seen + d.toString()).slice(-2000);
        if (ready && seen.includes(opts.readyText)) {
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
        if (outcome === 'timeout') await self.kill();
        throw new Error(`${opts.what} did not start (${outcome}):\n${out.slice(-3000)}`);
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
    rmSync(opts.cwd, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return self;
}
