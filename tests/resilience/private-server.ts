/**
 * A server process a scenario owns (a private MariaDB or Redis on its own port and dir), so killing
 * it never disturbs the shared test servers other suites use. `kill()` is SIGKILL (a crash);
 * `start()` starts it again on the same dir and waits until `ready()`; `destroy()` stops it and
 * removes the dir. The process is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface PrivateServer {
  readonly alive: boolean;
  start(): Promise<void>;
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export interface PrivateServerSpec {
  /** what the server is, for error messages */
  name: string;
  bin: string;
  args: string[];
  /** its own dir, removed by destroy() */
  dir: string;
  /** whether it answers yet */
  ready(): boolean;
  /** what to say when it does not come up (its log's tail) */
  log(): string;
  readyTimeoutMs: number;
  /** after each start, once ready (e.g. grants) */
  afterStart?(): void;
}

export function privateServer(spec: PrivateServerSpec): PrivateServer {
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let alive = false;
  process.once('exit', () => {
    if (alive) child?.kill('SIGKILL');
  });
  return {
    get alive() {
      return alive;
    },
    async start() {
      if (alive) return;
      const c = spawn(spec.bin, spec.args, { stdio: 'ignore' });
      child = c;
      alive = true;
      exited = new Promise((r) => c.once('exit', () => r()));
      void exited.then(() => (alive = false));
      const deadline = Date.now() + spec.readyTimeoutMs;
      while (!spec.ready()) {
        if (!alive || Date.now() > deadline) throw new Error(`private ${spec.name} did not start: ${spec.log()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      spec.afterStart?.();
    },
    async kill() {
      if (!alive || !child) return;
      child.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      if (alive && child) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child?.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(spec.dir, { recursive: true, force: true });
    },
  };
}
