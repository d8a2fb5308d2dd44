/**
 * A real `knot agent` process for a started space, as a Nomad client would run it: the
 * environment of the space's task read back from the Nomad sandbox (so the injected
 * KNOT_AGENT_TOKEN is the one the start workflow minted), with KNOT_SERVER pointed at the test's
 * API and a scratch home. Needs a fresh `npm run build` (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './worker-process';

export interface TaskEnv {
  job: string;
  env: Record<string, string>;
}

/** The env of the first task of the space's job that sets KNOT_SPACEID (from the sandbox's Nomad API). */
export async function agentTaskEnv(nomadUrl: string, jobId: string): Promise<Record<string, string>> {
  const res = await fetch(`${nomadUrl}/v1/job/${encodeURIComponent(jobId)}`);
  if (!res.ok) throw new Error(`job ${jobId}: ${res.status}`);
  const job = (await res.json()) as { TaskGroups?: { Tasks?: { Env?: Record<string, string> | null }[] }[] };
  for (const g of job.TaskGroups ?? []) for (const t of g.Tasks ?? []) if (t.Env?.KNOT_SPACEID) return t.Env;
  throw new Error(`job ${jobId} has no task setting KNOT_SPACEID`);
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly home: string;
  output(): string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after a grace period; removes the scratch home */
  stop(): Promise<void>;
}

export function spawnAgent(env: Record<string, string>, serverUrl: string, extra: Record<string, string> = {}): AgentProcess {
  const home = mkdtempSync(path.join(os.tmpdir(), 'knot-agent-home-'));
  const child = spawn(process.execPath, [CLI, 'agent'], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env, KNOT_SERVER: serverUrl, HOME: home, KNOT_AGENT_PORT: '0', KNOT_LOGLEVEL: 'debug', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    home,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
  };
}
