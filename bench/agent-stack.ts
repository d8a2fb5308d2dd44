/**
 * What the agent and terminal benchmarks share: the bench backend with the API on loopback (no
 * worker: nothing here runs a lifecycle operation), running spaces written straight into the store
 * with a `start` agent token each (as the register activity mints it), a real `knot agent` child
 * process for such a space, and per-process memory and CPU read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { generateAgentToken, hashToken } from '../core/crypto';
import { newId } from '../core/names';
import type { ApiServer } from '../api/server';
import { startBackend, type Backend } from './backend';
import { insertSpaces } from './bulk-spaces';
import { note } from './report';
import { seedTemplate, seedTemplateInput } from './seed';

/**
 * How the agent is started: `cli` = `node dist/cli/main.js agent` (the whole knot command, which
 * loads the server's modules too); `standalone` = `node dist/cli/agent-main.js` (the program the
 * downloadable agent bundle is built from: the `agent` command alone).
 */
export type AgentEntry = 'cli' | 'standalone';

const AGENT_ARGV: Record<AgentEntry, string[]> = {
  cli: [path.join(__dirname, '..', 'cli', 'main.js'), 'agent'],
  standalone: [path.join(__dirname, '..', 'cli', 'agent-main.js')],
};

export interface LinkableSpace {
  id: string;
  /** the agent token in clear: what KNOT_AGENT_TOKEN carries */
  token: string;
}

export interface AgentBench {
  backend: Backend;
  api: ApiServer;
  /** the API's base URL, http://127.0.0.1:<port> */
  url: string;
  /** the bootstrap admin's bearer token (owns every space made here) */
  adminToken: string;
  /** `count` running spaces of the admin's, each with a fresh start token */
  runningSpaces(count: number, namePrefix: string): Promise<LinkableSpace[]>;
  /** resolves once the API holds a live link for the space */
  linked(spaceId: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startAgentBench(): Promise<AgentBench> {
  const backend = await startBackend({ api: true, worker: false, sandbox: { faults: { latencyMs: 0 } } });
  const api = backend.api!;
  const admin = await backend.store.users.getByUsername('admin');
  if (!admin) throw new Error('the bootstrap admin is missing');
  const tpl = await seedTemplate(backend.store, seedTemplateInput('debian'));
  const url = api.url;
  return {
    backend,
    api,
    url,
    adminToken: backend.adminToken,
    async runningSpaces(count, namePrefix) {
      const now = Date.now();
      const ids = await insertSpaces(backend.store, { count, ownerId: admin.id, templateId: tpl.id, appliedVersion: tpl.version, phase: () => 'running', startedAt: () => now, namePrefix, batchSize: 500 });
      const spaces = ids.map((id) => ({ id, token: generateAgentToken() }));
      // one transaction per 500: 1,000 single-row commits on SQLite would dominate the setup
      for (let from = 0; from < spaces.length; from += 500) {
        await backend.store.transaction(async (tx) => {
          for (const s of spaces.slice(from, from + 500)) await tx.agentTokens.issue({ id: newId(now), spaceId: s.id, kind: 'start', tokenHash: hashToken(s.token) }, now);
        });
      }
      return spaces;
    },
    async linked(spaceId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!api.links.get(spaceId)) {
        if (Date.now() > deadline) throw new Error(`no agent link for space ${spaceId} after ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    close: () => backend.close(),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface KnotAgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** the scratch HOME the agent (and its shells) run in */
  readonly home: string;
  /** the last 20 KB it logged */
  output(): string;
  stop(): Promise<void>;
}

/** The environment a space's shell sees besides what the agent adds (TERM): the direct baseline uses it too. */
export function shellBaseEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', HOME: home };
}

/**
 * A real `knot agent` process for `space`, configured the way the space's Nomad job does it
 * (KNOT_SERVER, KNOT_AGENT_TOKEN, KNOT_SPACEID), with a scratch HOME and an ephemeral health port.
 */
export function spawnKnotAgent(serverUrl: string, space: LinkableSpace, opts: { logLevel?: string; entry?: AgentEntry } = {}): KnotAgentProcess {
  const home = mkdtempSync(path.join(os.tmpdir(), 'knot-bench-agent-'));
  const logLevel = opts.logLevel ?? 'warn';
  const child = spawn(process.execPath, [...agentNodeArgs(), ...AGENT_ARGV[opts.entry ?? 'cli']], {
    cwd: home,
    env: { ...shellBaseEnv(home), KNOT_SERVER: serverUrl, KNOT_AGENT_TOKEN: space.token, KNOT_SPACEID: space.id, KNOT_AGENT_PORT: '0', KNOT_LOGLEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!child.pid) throw new Error('could not start knot agent');
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid,
    home,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** BENCH_AGENT_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): node flags for agent processes, to profile them. */
function agentNodeArgs(): string[] {
  return (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM, …); null off Linux or once the process is gone. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples the peak RSS of this process and of other processes (by pid) until stopped. */
export class PeakRss {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: number[],
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const pid of this.pids) {
      const rss = pid === process.pid ? process.memoryUsage.rss() : procStatusBytes(pid, 'VmRSS');
      if (rss !== null) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, rss));
    }
  }

  /** the peak of each pid, in the order given */
  stop(): number[] {
    clearInterval(this.timer);
    this.sample();
    return this.pids.map((p) => this.peaks.get(p) ?? Number.NaN);
  }
}

let gcFn: (() => void) | null = null;
/**
 * A full collection, whether or not node was started with --expose-gc: the flag can be set at run
 * time, and a fresh context then exposes `gc` (the bench runner is started without flags).
 */
export function forceGc(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFn = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
      note('gc exposed at run time (--expose-gc set through v8.setFlagsFromString)');
    }
  }
  gcFn();
  gcFn();
}
