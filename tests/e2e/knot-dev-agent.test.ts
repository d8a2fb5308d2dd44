/**
 * Seed 000 on `knot dev`, as a user walks it: the sandbox runs no containers, so `knot dev` runs
 * each running space's `knot agent` as a local process (cli/dev-agents.ts). A space of the seed
 * template (examples/templates/debian) is created and started; its stand-in agent links (the
 * space shows the agent connected, with a terminal); a terminal runs commands in a home under the
 * dev data dir; the "Done when": an SSH key added through the API, `knot ssh-config` writes
 * ~/.ssh/config (HOME is a temp dir) and `ssh <space>.knot` lands in that home, and a web server
 * listening "in the space" opens through the Ports proxy path; stopping the space ends the agent
 * and its shells.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { KnotClient } from '../../client';
import { openTerminal } from '../support/terminal';
import { until as waitUntil } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');
const SEED = path.join(ROOT, 'examples/templates/debian');

const until = <T>(what: string, probe: () => Promise<T | null>, timeoutMs: number) => waitUntil(what, probe, timeoutMs, 100);

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Processes whose environment sets KNOT_SPACEID=<spaceId> (the agent and the shells it started), read from /proc. */
function processesOfSpace(spaceId: string): { pid: number; ppid: number; cmdline: string }[] {
  const out: { pid: number; ppid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!environ.includes(`KNOT_SPACEID=${spaceId}`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(entry), ppid, cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

it('knot dev runs the agent of a started seed space: linked, a working terminal, ssh via ssh-config, a web port by path, gone after stop', async () => {
  expect(existsSync(path.join(ROOT, 'dist/cli/main.js'))).toBe(true);
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'knot-dev-agent-e2e-')));
  const [api, temporal, ui, nomad] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${api}`;
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'dev', '--temporal-port', String(temporal), '--nomad-port', String(nomad)], {
    cwd: dir,
    env: {
      ...process.env,
      KNOT_SERVER_LISTEN: `127.0.0.1:${api}`,
      // rendered into the job as KNOT_SERVER: the stand-in agents dial this API
      KNOT_SERVER_URL: apiUrl,
      KNOT_SERVER_TEMPORAL_UI_PORT: String(ui),
      KNOT_LOG_LEVEL: 'warn',
      // no KNOT_ENCRYPT: knot dev makes and keeps a key of its own (the spaces' SSH host keys derive from it)
      KNOT_ENCRYPT: '',
      KNOT_WORKFLOW_BUNDLE: process.env.KNOT_TEST_WORKFLOW_BUNDLE ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let spaceId = '';
  try {
    await until('the banner', async () => (out.includes('Press Ctrl-C to stop.') ? true : null), 90_000);
    // the banner says the agents run here, and where their homes are
    expect(out).toMatch(/Agents\s+each running space's agent runs as a local process of yours/);
    expect(out).toContain(`home under ${path.join(dir, '.data/spaces')}/<id>/home`);
    const keyFile = path.join(dir, '.data/encrypt.key');
    expect(out).toContain(`encryption key (server.encrypt) kept in ${keyFile}`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
    const token = /Admin token \(shown once, keep it\): (\S+)/.exec(out)?.[1];
    expect(token).toBeDefined();
    const client = new KnotClient({ url: apiUrl, token: token! });

    await client.createTemplate({
      name: 'debian',
      description: 'Debian space from seed 000',
      job: readFileSync(path.join(SEED, 'job.nomad.hcl'), 'utf8'),
      volumes: readFileSync(path.join(SEED, 'volumes.yaml'), 'utf8'),
    } as never);
    const created = await client.createSpace({ name: 'seed', template: 'debian' } as never);
    spaceId = created.id;
    expect(processesOfSpace(spaceId)).toEqual([]);
    await client.startSpace(spaceId);

    const linked = await until(
      'the stand-in agent to link',
      async () => {
        const s = await client.getSpace(spaceId);
        return s.status.phase === 'running' && s.status.agent.state === 'connected' && s.status.agent.services.terminal === true ? s : null;
      },
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nknot dev output:\n${out.slice(-4000)}`);
    });
    expect(linked.status.lastOperation).toMatchObject({ type: 'start', status: 'succeeded' });
    // one `knot agent` process for the space, a child of knot dev
    const agents = processesOfSpace(spaceId);
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ ppid: child.pid });
    expect(agents[0]!.cmdline).toMatch(/main\.js agent$/);

    // a terminal through the API: a real shell in the space's home under the data dir
    const home = path.join(dir, '.data/spaces', spaceId, 'home');
    const t = openTerminal(apiUrl, spaceId, token!);
    await t.waitStatus('open');
    t.conn.send('echo "home=$HOME pwd=$(pwd) sum=$((6*7))"; touch from-terminal\r');
    await t.waitFor(new RegExp(`home=${home} pwd=${home} sum=42`));
    await until('the file the shell made', async () => (existsSync(path.join(home, 'from-terminal')) ? true : null), 5000);
    // the agent and its shell both carry the space's id
    expect(processesOfSpace(spaceId).length).toBeGreaterThanOrEqual(2);

    // SSH as a user sets it up: a key on the account, `knot ssh-config` into ~/.ssh/config, plain `ssh seed.knot`
    const userHome = path.join(dir, 'user-home');
    mkdirSync(path.join(userHome, '.ssh'), { recursive: true, mode: 0o700 });
    const key = path.join(userHome, '.ssh', 'id_ed25519');
    expect((await run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], process.env)).code).toBe(0);
    await client.addSshKey({ name: 'laptop', publicKey: readFileSync(`${key}.pub`, 'utf8') });
    await until('the ssh service', async () => ((await client.getSpace(spaceId)).status.agent.services.ssh === true ? true : null), 20_000);
    const userEnv = { ...process.env, HOME: userHome, XDG_CONFIG_HOME: path.join(userHome, '.config'), KNOT_URL: apiUrl, KNOT_TOKEN: token! };
    const written = await run(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'ssh-config'], userEnv);
    expect(written.stderr).toBe('');
    expect(written.code).toBe(0);
    const sshConfig = path.join(userHome, '.ssh', 'config');
    expect(readFileSync(sshConfig, 'utf8')).toContain('Host seed.knot\n');
    // OpenSSH finds ~ from the password database, not HOME: the key is named, the rest is the written config
    const landed = await run('/usr/bin/ssh', ['-F', sshConfig, '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', 'seed.knot', 'echo ok; pwd'], userEnv);
    expect(landed.stderr).toBe('');
    expect(landed.stdout).toBe(`ok\n${home}\n`);
    expect(landed.code).toBe(0);

    // a web server in the space (this machine's loopback, where the stand-in agent runs) opens through the Ports path
    const web = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from the space: ${req.url}`));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    try {
      const webPort = (web.address() as AddressInfo).port;
      // the agent reports it at its next scan (every few seconds)
      await until('the web port reported', async () => ((await client.getSpace(spaceId)).status.agent.services.httpPorts?.includes(webPort) ? true : null), 20_000);
      const owner = (await client.getSpace(spaceId)).owner;
      const page = await fetch(`${apiUrl}/spaces/${owner}/seed/ports/${webPort}/index.html?x=1`, { headers: { authorization: `Bearer ${token!}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toBe('hello from the space: /index.html?x=1');
    } finally {
      web.close();
    }

    await client.stopSpace(spaceId);
    await until(
      'the space to stop',
      async () => {
        const s = await client.getSpace(spaceId);
        return s.status.phase === 'stopped' && s.status.lastOperation?.status === 'succeeded' ? s : null;
      },
      30_000,
    );
    await until('the terminal to close', async () => t.statuses.find((x) => x.status === 'closed') ?? null, 20_000);
    await until('the agent to show disconnected', async () => ((await client.getSpace(spaceId)).status.agent.state === 'disconnected' ? true : null), 20_000);
    // no stand-in agent (nor a shell of it) is left for the stopped space
    await until('the agent process to end', async () => (processesOfSpace(spaceId).length === 0 ? true : null), 10_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(processesOfSpace(spaceId))}`);
    });
    // the home stays with the stopped space
    expect(existsSync(path.join(home, 'from-terminal'))).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const p of spaceId ? processesOfSpace(spaceId) : []) process.kill(p.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
});
