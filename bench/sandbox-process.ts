/**
 * The Nomad sandbox in a process of its own, for benchmarks that count the CPU of knot's process:
 * in a deployment Nomad runs elsewhere, so its stand-in's work (HTTP server, job parsing, the
 * simulated cluster) belongs beside Temporal's figure, not in knot's. Run as a child of the bench
 * (`node sandbox-process.js '<options as JSON>'`): it prints `READY <url>` and stops on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { startSandbox, type SandboxOptions, type SandboxState } from '../nomad/sandbox';

export interface SandboxProcess {
  url: string;
  pid: number;
  state(): Promise<SandboxState>;
  close(): Promise<void>;
}

export async function startSandboxProcess(opts: SandboxOptions): Promise<SandboxProcess> {
  const child: ChildProcess = spawn(process.execPath, [__filename, JSON.stringify({ ...opts, port: 0 })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the sandbox process exited (${code}) before it was ready`)));
  });
  return {
    url,
    pid: child.pid!,
    state: async () => {
      const res = await fetch(`${url}/v1/sandbox/state`);
      if (!res.ok) throw new Error(`sandbox state: HTTP ${res.status}`);
      return (await res.json()) as SandboxState;
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (require.main === module) {
  void (async () => {
    const sandbox = await startSandbox(JSON.parse(process.argv[2] ?? '{}') as SandboxOptions);
    process.stdout.write(`READY ${sandbox.url}\n`);
    process.once('SIGTERM', () => void sandbox.close().then(() => process.exit(0)));
  })();
}
