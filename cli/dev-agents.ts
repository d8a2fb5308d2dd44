/**
 * `knot dev`'s stand-in for what a Nomad client would run: the sandbox runs no workloads, so for
 * every running job whose task sets KNOT_SPACEID this starts `knot agent` as a local process, with
 * that task's environment (the injected KNOT_AGENT_TOKEN included), a scratch home under
 * `<data_dir>/spaces/<space id>/home` and your own user. When the job goes (the space stopped) or
 * is registered again with a new token (restarted), the process is stopped (SIGTERM), as Nomad's
 * kill would. It reads the sandbox over Nomad's HTTP API with blocking queries: no polling loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

interface TaskEnv {
  key: string;
  spaceId: string;
  env: Record<string, string>;
}

interface RunningAgent {
  child: ChildProcess;
  token: string;
  exited: Promise<void>;
}

interface JobStub {
  ID: string;
  Namespace?: string;
  Status: string;
  Stop?: boolean;
}

interface JobDetail {
  TaskGroups?: { Name: string; Tasks?: { Name: string; Env?: Record<string, string> | null }[] | null }[] | null;
}

/** Tasks of a job that run knot's agent: the ones whose env sets KNOT_SPACEID and carries a token. */
export function agentTasksOf(jobId: string, job: JobDetail): TaskEnv[] {
  const out: TaskEnv[] = [];
  for (const g of job.TaskGroups ?? []) {
    for (const t of g.Tasks ?? []) {
      const env = t.Env ?? {};
      if (env.KNOT_SPACEID && env.KNOT_AGENT_TOKEN) out.push({ key: `${jobId}/${g.Name}/${t.Name}`, spaceId: env.KNOT_SPACEID, env });
    }
  }
  return out;
}

export interface DevAgents {
  /** agents running now, by job/group/task */
  running(): string[];
  stop(): Promise<void>;
}

export function startDevAgents(opts: { nomadAddr: string; namespace: string; dataDir: string; cliPath: string; logger: Logger; hidePorts: () => number[] }): DevAgents {
  const agents = new Map<string, RunningAgent>();
  const controller = new AbortController();
  const log = opts.logger;

  const stopAgent = async (key: string) => {
    const a = agents.get(key);
    if (!a) return;
    agents.delete(key);
    a.child.kill('SIGTERM');
    const killer = setTimeout(() => a.child.kill('SIGKILL'), 5000);
    await a.exited;
    clearTimeout(killer);
  };

  const startAgent = (t: TaskEnv) => {
    const home = path.resolve(opts.dataDir, 'spaces', t.spaceId, 'home');
    mkdirSync(home, { recursive: true });
    const child = spawn(process.execPath, [opts.cliPath, 'agent'], {
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: process.env.LANG ?? 'C.UTF-8',
        ...t.env,
        HOME: home,
        // the API has port 3000 here: the agent's /ping takes any free port
        KNOT_AGENT_PORT: '0',
        // the stand-in sees this machine's sockets: knot dev's own servers are not the space's ports
        KNOT_AGENT_HIDE_PORTS: opts.hidePorts().join(','),
      },
      cwd: home,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log.debug({ agent: t.key }, line);
    };
    child.stdout?.on('data', prefix);
    child.stderr?.on('data', prefix);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      if (agents.get(t.key)?.child === child) {
        agents.delete(t.key);
        log.warn({ agent: t.key, code, signal }, 'stand-in agent exited; it starts again with the next change to the job');
      }
    });
    agents.set(t.key, { child, token: t.env.KNOT_AGENT_TOKEN!, exited });
    log.info({ space: t.spaceId, task: t.key, home, pid: child.pid }, 'started the stand-in agent for a running space (local process: the sandbox runs no containers)');
  };

  const get = async (p: string, index?: number): Promise<{ body: unknown; index: number }> => {
    const q = index === undefined ? '' : `${p.includes('?') ? '&' : '?'}index=${index}&wait=30s`;
    const res = await fetch(`${opts.nomadAddr}${p}${q}`, { signal: controller.signal });
    if (!res.ok) throw new Error(`GET ${p}: ${res.status}`);
    return { body: await res.json(), index: Number(res.headers.get('x-nomad-index') ?? 0) };
  };

  const reconcile = async (jobs: JobStub[]) => {
    const wanted = new Map<string, TaskEnv>();
    for (const j of jobs) {
      if (j.Stop || j.Status === 'dead') continue;
      const { body } = await get(`/v1/job/${encodeURIComponent(j.ID)}?namespace=${encodeURIComponent(j.Namespace ?? opts.namespace)}`);
      for (const t of agentTasksOf(j.ID, body as JobDetail)) wanted.set(t.key, t);
    }
    for (const [key, a] of agents) {
      const w = wanted.get(key);
      if (!w || w.env.KNOT_AGENT_TOKEN !== a.token) await stopAgent(key);
    }
    for (const [key, t] of wanted) if (!agents.has(key)) startAgent(t);
  };

  const loop = async () => {
    let index = 0;
    while (!controller.signal.aborted) {
      try {
        const { body, index: next } = await get(`/v1/jobs?namespace=${encodeURIComponent(opts.namespace)}`, index);
        const moved = next !== index;
        index = next;
        if (moved) await reconcile(body as JobStub[]);
        // a Nomad that answers at once without moving (or an error) must not spin
        else await new Promise((r) => setTimeout(r, 1000));
      } catch (e) {
        if (controller.signal.aborted) return;
        log.warn({ err: e }, 'stand-in agents: could not read the sandbox; retrying');
        await new Promise((r) => setTimeout(r, 2000));
        index = 0;
      }
    }
  };
  const done = loop();

  return {
    running: () => [...agents.keys()],
    async stop() {
      controller.abort();
      await done.catch(() => {});
      await Promise.all([...agents.keys()].map((k) => stopAgent(k)));
    },
  };
}
