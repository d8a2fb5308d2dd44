/**
 * port-forward: bytes through `knot forward port` (the real CLI as a child: local TCP → the
 * upgraded socket, raw (link/raw-port.ts; `KNOT_PORT_STREAM=websocket` in the environment for
 * WebSocket messages) → API → agent link (HTTP/2 CONNECT) → real `knot agent` → TCP to the app) against OpenSSH's
 * `ssh -L` through a private sshd of ours (local TCP → ssh → encrypted channel → sshd → TCP), in
 * the same run, alternating which side goes first. The app is a space-traffic.ts sink/source on
 * loopback (the agent runs on this machine, so that is "inside the space"); the pushing and
 * pulling happen in a child process of their own, the same for both sides.
 *
 * Cases: one connection moving BENCH_FORWARD_MB, and BENCH_FORWARD_CONNS connections moving
 * BENCH_FORWARD_CONN_MB each at once; both directions (push = to the app, pull = from it).
 * MB = 10^6 bytes; an upload counts once the app has confirmed every byte.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { processCpuSeconds } from './backend';
import { envInt } from './env';
import { directSshArgs, freePort, portAccepts, SSH, startLocalSshd, type LocalSshd } from './openssh-local';
import { benchLine, loadContext, loadFields, note, type BenchFields } from './report';
import { background, measureTraffic, startSpaceLinkBench, type Background, type SpaceLinkBench } from './space-link-stack';
import { median, round } from './stats';

type Side = 'knot' | 'ssh';
type Direction = 'push' | 'pull';

interface Case {
  name: string;
  conns: number;
  bytesPerConn: number;
  direction: Direction;
}

/** A process and all its descendants (sshd forks a monitor and a session process per connection). */
function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/).map(Number) : []) out.push(...processTree(c));
    }
  } catch {
    // gone meanwhile
  }
  return out;
}

/** CPU seconds of the processes that relay for one side, summed; the bench process counts as the API. */
function relayCpu(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (pid === process.pid ? (process.cpuUsage().user + process.cpuUsage().system) / 1e6 : (processCpuSeconds(pid) ?? 0)), 0);
}

/** `ssh -N -L` to the app through the local sshd; resolves once its local port accepts. */
async function startSshForward(sshd: LocalSshd, appPort: number): Promise<{ localPort: number; proc: Background }> {
  const localPort = await freePort();
  const proc = background(SSH, ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${appPort}`, ...directSshArgs(sshd)], process.env);
  await portAccepts(localPort, 15_000, `ssh -L (${proc.output()})`);
  return { localPort, proc };
}

/** The cipher OpenSSH negotiated with our sshd (its client's first preference both support). */
async function negotiatedCipher(sshd: LocalSshd): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(SSH, ['-v', ...directSshArgs(sshd), 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', () => resolve(/kex: client->server cipher: (\S+)/.exec(err)?.[1] ?? 'unknown'));
  });
}

export async function runPortForward(): Promise<string> {
  const singleMb = envInt('BENCH_FORWARD_MB', 200);
  const conns = envInt('BENCH_FORWARD_CONNS', 8);
  const connMb = envInt('BENCH_FORWARD_CONN_MB', 25);
  const rounds = envInt('BENCH_FORWARD_ROUNDS', 3);
  const before = loadContext();
  const sshd = await startLocalSshd();
  let bench: SpaceLinkBench | null = null;
  let sshFwd: Background | null = null;
  try {
    bench = await startSpaceLinkBench('fwd');
    const knotFwd = await bench.forwardPort(bench.servers.tcpPort);
    const ssh = await startSshForward(sshd, bench.servers.tcpPort);
    sshFwd = ssh.proc;
    const cipher = await negotiatedCipher(sshd);
    const ports: Record<Side, number> = { knot: knotFwd.localPort, ssh: ssh.localPort };
    const relays: Record<Side, () => number[]> = {
      knot: () => [bench!.agent.pid, knotFwd.pid, process.pid],
      ssh: () => [ssh.proc.child.pid!, ...processTree(sshd.pid)],
    };
    const cases: Case[] = [];
    for (const direction of ['push', 'pull'] as const) {
      cases.push({ name: `single_${direction}`, conns: 1, bytesPerConn: singleMb * 1e6, direction });
      cases.push({ name: `x${conns}_${direction}`, conns, bytesPerConn: connMb * 1e6, direction });
    }
    const run = (side: Side, c: Case) => measureTraffic<{ bytes: number; ms: number }>([c.direction, String(ports[side]), String(c.bytesPerConn), String(c.conns)]);
    // warm-up: JIT, TCP windows, the link's first streams
    for (const side of ['knot', 'ssh'] as const) for (const d of ['push', 'pull'] as const) await run(side, { name: 'warmup', conns: 2, bytesPerConn: 8e6, direction: d });

    const mbps: Record<string, Record<Side, number[]>> = Object.fromEntries(cases.map((c) => [c.name, { knot: [], ssh: [] }]));
    const cpu: Record<Side, number> = { knot: 0, ssh: 0 };
    const moved: Record<Side, number> = { knot: 0, ssh: 0 };
    for (let r = 0; r < rounds; r++) {
      for (const [i, c] of cases.entries()) {
        // alternate which side goes first, so neither always runs on the other's leftovers
        const order: Side[] = (r + i) % 2 === 0 ? ['knot', 'ssh'] : ['ssh', 'knot'];
        for (const side of order) {
          const pids = relays[side]();
          const cpu0 = relayCpu(pids);
          const res = await run(side, c);
          cpu[side] += relayCpu(pids) - cpu0;
          moved[side] += res.bytes;
          const v = res.bytes / 1e6 / (res.ms / 1000);
          mbps[c.name]![side].push(v);
          note(`port-forward round ${r + 1}/${rounds} ${c.name} ${side}: ${round(v)} MB/s (${round(res.ms)} ms)`);
        }
      }
    }
    const after = loadContext();
    const fields: BenchFields = { single_mb: singleMb, conns, conn_mb: connMb, rounds, ssh_cipher: cipher };
    const ratios: Record<string, number> = {};
    for (const c of cases) {
      const k = median(mbps[c.name]!.knot);
      const s = median(mbps[c.name]!.ssh);
      ratios[c.name] = k / s;
      Object.assign(fields, { [`${c.name}_knot_MBps`]: round(k), [`${c.name}_ssh_MBps`]: round(s), [`${c.name}_ratio`]: round(k / s, 2) });
    }
    const pushMet = cases.filter((c) => c.direction === 'push').every((c) => ratios[c.name]! >= 1);
    const pullMet = cases.filter((c) => c.direction === 'pull').every((c) => ratios[c.name]! >= 1);
    Object.assign(fields, {
      target_ratio: 1,
      met_push: pushMet,
      met_pull: pullMet,
      // what relaying costs: knot = agent + CLI + API (this process), ssh = client + sshd and its session processes
      knot_cpu_s_per_gb: round(cpu.knot / (moved.knot / 1e9), 2),
      ssh_cpu_s_per_gb: round(cpu.ssh / (moved.ssh / 1e9), 2),
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
    return benchLine('port-forward', fields);
  } finally {
    await sshFwd?.stop();
    await bench?.close();
    await sshd.stop();
  }
}
