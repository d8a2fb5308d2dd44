/**
 * ssh-connect: the wall time of `ssh … true` (spawn to exit: connect, key exchange, public-key
 * login, a session running `true`, close) through knot — OpenSSH with `node dist/cli/main.js
 * forward ssh %h` as its ProxyCommand and the space's host key pinned, as tests/e2e/ssh.test.ts
 * runs it, reaching the agent's embedded SSH server over WebSocket → API → agent link — against
 * the same client straight to a private sshd of ours on loopback. Runs alternate, one each.
 *
 * Beside it, what the ProxyCommand costs before it sends a byte: `node dist/cli/main.js forward ssh
 * --help` (node starting and loading the CLI), a bare `node -e 0` (node alone), and `node -e
 * require('dist/cli/ssh-commands.js')` (node plus only the module `forward ssh` needs).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { envInt } from './env';
import { directSshArgs, KNOT_CLI, knotSshArgs, runTimed, SSH, startLocalSshd, type Ran } from './openssh-local';
import { benchLine, loadContext, loadFields, note } from './report';
import { startSpaceLinkBench, type SpaceLinkBench } from './space-link-stack';
import { median, percentile, round } from './stats';

function check(r: Ran, what: string): number {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim()}`);
  return r.ms;
}

export async function runSshConnect(): Promise<string> {
  const runs = envInt('BENCH_SSH_RUNS', 20);
  const startupRuns = envInt('BENCH_SSH_STARTUP_RUNS', 10);
  const before = loadContext();
  const sshd = await startLocalSshd();
  let bench: SpaceLinkBench | null = null;
  try {
    bench = await startSpaceLinkBench('ssh', { sshPublicKey: sshd.clientPublicKey });
    const info = await bench.client.getSpaceSsh(bench.spaceId);
    const knownHosts = path.join(sshd.dir, 'knot_known_hosts');
    writeFileSync(knownHosts, `${info.knownHostsLine}\n`);
    const knotArgs = [...knotSshArgs(sshd.clientKey, { sshConfigHost: info.sshConfigHost, owner: info.owner, knownHosts }), 'true'];
    const directArgs = [...directSshArgs(sshd), 'true'];
    const sides = {
      knot: () => runTimed(SSH, knotArgs, bench!.cliEnv).then((r) => check(r, 'ssh through knot')),
      direct: () => runTimed(SSH, directArgs, process.env).then((r) => check(r, 'ssh direct')),
    };
    // warm-up: the page cache for node and the CLI, ssh2 loaded in the agent, sshd's first fork
    for (let i = 0; i < 2; i++) for (const run of Object.values(sides)) await run();
    const ms = { knot: [] as number[], direct: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? (['knot', 'direct'] as const) : (['direct', 'knot'] as const);
      for (const side of order) ms[side].push(await sides[side]());
    }

    const nodeArgs = {
      cli_help: [KNOT_CLI, 'forward', 'ssh', '--help'],
      node_bare: ['-e', '0'],
      ssh_module: ['-e', `require(${JSON.stringify(path.join(path.dirname(KNOT_CLI), 'ssh-commands.js'))})`],
    };
    const startup: Record<keyof typeof nodeArgs, number[]> = { cli_help: [], node_bare: [], ssh_module: [] };
    for (let i = 0; i < startupRuns; i++) {
      for (const [name, args] of Object.entries(nodeArgs) as [keyof typeof nodeArgs, string[]][]) startup[name].push(check(await runTimed(process.execPath, args, bench.cliEnv), `node ${args.join(' ')}`));
    }
    const after = loadContext();
    const k = { p50: percentile(ms.knot, 50), p95: percentile(ms.knot, 95) };
    const d = { p50: percentile(ms.direct, 50), p95: percentile(ms.direct, 95) };
    note(`ssh-connect: knot p50 ${round(k.p50)} p95 ${round(k.p95)} ms; direct p50 ${round(d.p50)} p95 ${round(d.p95)} ms; knot samples ${ms.knot.map((v) => round(v, 0)).join(' ')}`);
    return benchLine('ssh-connect', {
      runs,
      knot_ms_p50: round(k.p50),
      knot_ms_p95: round(k.p95),
      direct_ms_p50: round(d.p50),
      direct_ms_p95: round(d.p95),
      ratio_p50: round(k.p50 / d.p50, 2),
      ratio_p95: round(k.p95 / d.p95, 2),
      target_ratio: 1.5,
      met_p50: k.p50 / d.p50 <= 1.5,
      met_p95: k.p95 / d.p95 <= 1.5,
      // medians of `startupRuns` each: what the ProxyCommand spends before its WebSocket exists
      proxy_cli_help_ms: round(median(startup.cli_help)),
      node_bare_ms: round(median(startup.node_bare)),
      node_ssh_module_ms: round(median(startup.ssh_module)),
      ...loadFields('before', before),
      ...loadFields('after', after),
    });
  } finally {
    await bench?.close();
    await sshd.stop();
  }
}
