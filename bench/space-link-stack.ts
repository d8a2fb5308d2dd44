/**
 * What the SSH and port benchmarks share: the agent bench (API in this process, a real `knot agent`
 * child for one running space) plus the apps "inside the space" — a space-traffic.ts `serve` child
 * on this machine's loopback, where the agent runs — waited for until the agent has reported their
 * ports (only reported ports are reachable), and the children that measure (`push`, `pull`, `http`)
 * and relay (`knot forward port`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { offeredPorts } from '../api/agent-link/port-access';
import { KnotClient } from '../client';
import { sleep, spawnKnotAgent, startAgentBench, type AgentBench, type KnotAgentProcess } from './agent-stack';
import { KNOT_CLI } from './openssh-local';

const TRAFFIC = path.join(__dirname, 'space-traffic.js');

export interface TrafficServers {
  tcpPort: number;
  httpPort: number;
  pid: number;
  stop(): Promise<void>;
}

/** A child that runs until stopped: its pid, what it printed so far, and how to end it. */
interface Background {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function background(file: string, args: string[], env: NodeJS.ProcessEnv, stdin: 'pipe' | 'ignore' = 'ignore'): Background {
  const child = spawn(file, args, { env, stdio: [stdin, 'pipe', 'pipe'] });
  if (!child.pid) throw new Error(`could not start ${file} ${args.join(' ')}`);
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits until `test` answers something from the child's output, or the child exits. */
async function awaitOutput<T>(b: Background, what: string, test: (out: string) => T | null | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = test(b.output());
    if (v !== null && v !== undefined) return v;
    if (b.child.exitCode !== null || Date.now() > deadline) throw new Error(`${what}: not ready (exit ${b.child.exitCode}); output:\n${b.output()}`);
    await sleep(20);
  }
}

export async function startTrafficServers(): Promise<TrafficServers> {
  const b = background(process.execPath, [TRAFFIC, 'serve'], process.env, 'pipe');
  const ports = await awaitOutput(b, 'space-traffic serve', (out) => {
    const m = /\{"tcp":(\d+),"http":(\d+)\}/.exec(out);
    return m ? { tcpPort: Number(m[1]), httpPort: Number(m[2]) } : null;
  });
  return { ...ports, pid: b.child.pid!, stop: () => b.stop() };
}

/** space-traffic.ts's one-hop Node.js proxy to `port` (the yardstick of the HTTP relay). */
export async function startNodeProxy(port: number): Promise<{ port: number; pid: number; stop: () => Promise<void> | void }> {
  const b = background(process.execPath, [TRAFFIC, 'proxy', String(port)], process.env, 'pipe');
  const proxyPort = await awaitOutput(b, 'space-traffic proxy', (out) => {
    const m = /\{"proxy":(\d+)\}/.exec(out);
    return m ? Number(m[1]) : null;
  });
  return { port: proxyPort, pid: b.child.pid!, stop: () => b.stop() };
}

/** Runs one measuring space-traffic child to its end; answers its JSON line. */
export function measureTraffic<T>(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TRAFFIC, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`space-traffic ${args.join(' ')} exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim()) as T);
      } catch {
        reject(new Error(`space-traffic ${args.join(' ')}: no JSON answer: ${out.slice(0, 200)} ${err}`));
      }
    });
  });
}

export interface SpaceLinkBench {
  stack: AgentBench;
  spaceId: string;
  /** the space's name (the admin owns it) */
  spaceName: string;
  owner: string;
  agent: KnotAgentProcess;
  servers: TrafficServers;
  /** the environment the knot CLI runs with: KNOT_URL, KNOT_TOKEN, a scratch XDG_CONFIG_HOME */
  cliEnv: NodeJS.ProcessEnv;
  client: KnotClient;
  /** `knot forward port 0 <space> <port>` as a child; answers its local port */
  forwardPort(port: number): Promise<{ localPort: number; pid: number; stop(): Promise<void> }>;
  close(): Promise<void>;
}

/**
 * The stack with one running space and its agent; `sshPublicKey` goes on the owner's account
 * before the agent links, so the first SSH config pushed already holds it.
 */
export async function startSpaceLinkBench(namePrefix: string, opts: { sshPublicKey?: string } = {}): Promise<SpaceLinkBench> {
  const servers = await startTrafficServers();
  const stack = await startAgentBench();
  const config = mkdtempSync(path.join(os.tmpdir(), 'knot-bench-cli-'));
  let agent: KnotAgentProcess | null = null;
  const forwards: Background[] = [];
  const close = async () => {
    for (const f of forwards) await f.stop();
    await agent?.stop();
    await stack.close();
    await servers.stop();
    rmSync(config, { recursive: true, force: true });
  };
  try {
    const [space] = await stack.runningSpaces(1, namePrefix);
    const client = new KnotClient({ url: stack.url, token: stack.adminToken });
    if (opts.sshPublicKey) await client.addSshKey({ name: 'bench', publicKey: opts.sshPublicKey });
    const owner = (await client.whoami()).user.username;
    const spaceName = (await client.getSpace(space!.id)).name;
    agent = spawnKnotAgent(stack.url, space!);
    await stack.linked(space!.id).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent?.output()}`);
    });
    // the agent scans every 5 s; a port it has not reported is refused (404)
    const deadline = Date.now() + 30_000;
    for (;;) {
      const link = stack.api.links.get(space!.id);
      const ports = link ? offeredPorts(link) : new Set<number>();
      const sshReady = !opts.sshPublicKey || link?.lastReport?.services?.ssh === true;
      if (ports.has(servers.tcpPort) && ports.has(servers.httpPort) && sshReady) break;
      if (Date.now() > deadline) throw new Error(`the agent did not report ports ${servers.tcpPort}, ${servers.httpPort}${opts.sshPublicKey ? ' and ssh' : ''} in 30 s`);
      await sleep(100);
    }
    const cliEnv: NodeJS.ProcessEnv = { ...process.env, KNOT_URL: stack.url, KNOT_TOKEN: stack.adminToken, XDG_CONFIG_HOME: config };
    return {
      stack,
      spaceId: space!.id,
      spaceName,
      owner,
      agent,
      servers,
      cliEnv,
      client,
      async forwardPort(port) {
        const b = background(process.execPath, [...(process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter(Boolean), KNOT_CLI, 'forward', 'port', '0', spaceName, String(port)], cliEnv);
        forwards.push(b);
        const localPort = await awaitOutput(b, 'knot forward port', (out) => /forwarding 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
        return { localPort: Number(localPort), pid: b.child.pid!, stop: () => b.stop() };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export { background, awaitOutput, type Background };
