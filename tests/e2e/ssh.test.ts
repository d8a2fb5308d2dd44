/**
 * SSH into a space through the agent link, end to end: Debian's OpenSSH client, with the real
 * `knot forward ssh` CLI as its ProxyCommand, the server's SSH WebSocket, the link, and a real
 * `knot agent` process whose embedded SSH server got its host key and the owner's keys pushed.
 * Commands, scp both ways (sftp-server), `ssh -L`, a key not on the account refused and then
 * accepted once added (the keys-changed push), the host key unchanged across stop and start, and
 * `knot forward ssh` refusing another user's space; then `knot ssh` and `knot ssh-config`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SpaceSsh } from '../../client';
import { agentTaskEnv, type AgentProcess } from '../support/agent-process';
import { startAgentStack, type AgentStack } from '../support/agent-stack';
import { until } from '../support/wait';
import { CLI } from '../support/worker-process';

const SSH = '/usr/bin/ssh';
const NO_IMAGE_SSHD = { KNOT_SSH_PORT: '' };
const SCP = '/usr/bin/scp';
const haveOpenSsh = existsSync(SSH) && existsSync('/usr/bin/ssh-keygen');
const describeSsh = haveOpenSsh ? describe : describe.skip;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describeSsh('SSH into a space through the agent link', () => {
  let s: AgentStack;
  let id: string;
  let agent: AgentProcess;
  let tmp: string;
  let aliceKey: string;
  let otherKey: string;
  let info: SpaceSsh;
  let knownHosts: string;

  const env = (token: string): NodeJS.ProcessEnv => ({ ...process.env, KNOT_URL: s.api.url, KNOT_TOKEN: token, XDG_CONFIG_HOME: path.join(tmp, 'config') });
  /** plain OpenSSH options: no user config, knot as the ProxyCommand, the host key pinned */
  const sshOptions = (key: string) => [
    '-F', '/dev/null',
    '-o', `ProxyCommand=${process.execPath} ${CLI} forward ssh %h`,
    '-o', `HostKeyAlias=${info.sshConfigHost}`,
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'LogLevel=ERROR',
    '-i', key,
  ];
  const ssh = (key: string, ...args: string[]) => run(SSH, [...sshOptions(key), `alice@${info.sshConfigHost}`, ...args], env(s.alice));

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'knot-ssh-test-'));
    aliceKey = path.join(tmp, 'alice_ed25519');
    otherKey = path.join(tmp, 'other_ed25519');
    for (const [file, type] of [[aliceKey, 'ed25519'], [otherKey, 'ecdsa']] as const) {
      const r = await run('/usr/bin/ssh-keygen', ['-q', '-t', type, '-N', '', '-C', path.basename(file), '-f', file], process.env);
      expect(r.code).toBe(0);
    }
    s = await startAgentStack('sqlite');
    // the real path: the key on alice's account, through the API, before her space starts
    await s.api.client.as(s.alice).addSshKey({ name: 'laptop', publicKey: readFileSync(`${aliceKey}.pub`, 'utf8') });
    // the seed job sets KNOT_SSH_PORT=22: blank it, so a machine's own sshd is never the one reached
    const started = await s.startedSpace('sshbox');
    id = started.id;
    agent = s.spawnAgent(started.env, NO_IMAGE_SSHD);
    await s.agentState(id, 'connected');
    await until('the ssh service', async () => (await s.space(id)).status.agent.services.ssh === true, 20_000, 50);
    info = await s.api.client.as(s.alice).getSpaceSsh(id);
    knownHosts = path.join(tmp, 'known_hosts');
    writeFileSync(knownHosts, `${info.knownHostsLine}\n`);
  });
  afterAll(async () => {
    await s?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('tells how to connect and which host key to pin', () => {
    expect(info).toMatchObject({ spaceId: id, space: 'sshbox', owner: 'alice', sshConfigHost: 'sshbox.knot', proxyCommand: 'knot forward ssh %h' });
    expect(info.hostKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(info.knownHostsLine).toBe(`sshbox.knot ${info.hostKey}`);
    expect(info.fingerprint).toMatch(/^SHA256:/);
  });

  it('runs a command with the host key pinned (StrictHostKeyChecking=yes), and counts it as activity', async () => {
    // linked, SSH ready, nobody connected yet: no activity known
    expect((await s.space(id)).status.agent.lastActivity).toBeNull();
    const before = Date.now();
    const r = await ssh(aliceKey, 'uname', '-a');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Linux /);
    // the session's traffic is user activity: the agent reports it, the space shows it
    const seen = await until('SSH activity recorded', async () => (await s.space(id)).status.agent.lastActivity, 15_000, 100);
    expect(Date.parse(seen)).toBeGreaterThanOrEqual(before - 1000);
    // exit codes and stderr come back; the agent's token is not in the user's environment
    const failing = await ssh(aliceKey, 'echo oops >&2; env | grep -c KNOT_AGENT_TOKEN; exit 3');
    expect(failing.code).toBe(3);
    expect(failing.stdout.trim()).toBe('0');
    expect(failing.stderr).toContain('oops');
    // a PTY when asked for one
    const tty = await ssh(aliceKey, '-tt', 'tty; stty size');
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    const audit = await s.api.client.listAudit({ action: 'ssh.open' } as never);
    expect(audit.items.some((e: { resourceId: string | null; actor: string }) => e.resourceId === id && e.actor === 'alice')).toBe(true);
  });

  it('copies 10 MB up and back with scp (sftp) unchanged', async () => {
    const up = path.join(tmp, 'up.bin');
    const down = path.join(tmp, 'down.bin');
    writeFileSync(up, randomBytes(10 * 1024 * 1024));
    const put = await run(SCP, [...sshOptions(aliceKey), up, `alice@${info.sshConfigHost}:copied.bin`], env(s.alice), 120_000);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    // the agent's home is the session's working directory
    expect(sha256(path.join(agent.home, 'copied.bin'))).toBe(sha256(up));
    const get = await run(SCP, [...sshOptions(aliceKey), `alice@${info.sshConfigHost}:copied.bin`, down], env(s.alice), 120_000);
    expect(get.code).toBe(0);
    expect(sha256(down)).toBe(sha256(up));
  });

  it('forwards a local port to the space\'s loopback (ssh -L), and counts the connection as a session', async () => {
    const echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const localPort = await freePort();
    let child: ChildProcess | null = null;
    try {
      child = spawn(SSH, [...sshOptions(aliceKey), '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${echoPort}`, `alice@${info.sshConfigHost}`], { env: env(s.alice), stdio: 'ignore' });
      const reply = await until(
        'the forwarded port to echo',
        () =>
          new Promise<string | null>((resolve) => {
            const c = net.connect(localPort, '127.0.0.1');
            let got = '';
            c.on('data', (d) => {
              got += d.toString();
              if (got.includes('ping-knot')) {
                c.destroy();
                resolve(got);
              }
            });
            c.on('error', () => resolve(null));
            c.on('connect', () => c.write('ping-knot'));
            setTimeout(() => {
              c.destroy();
              resolve(null);
            }, 2000);
          }),
        20_000,
        200,
      );
      expect(reply).toBe('ping-knot');
      await until('the SSH session to count', async () => (await s.space(id)).status.agent.sessions >= 1, 10_000, 50);
    } finally {
      child?.kill('SIGTERM');
      echo.close();
    }
  });

  it('refuses a key not on the account, and takes it once it is added', async () => {
    const refused = await ssh(otherKey, 'true');
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
    // adding it pushes the owner's keys to the running agent: no restart
    await s.api.client.as(s.alice).addSshKey({ name: 'other', publicKey: readFileSync(`${otherKey}.pub`, 'utf8') });
    const ok = await until('the new key to be accepted', async () => {
      const r = await ssh(otherKey, 'echo in');
      return r.code === 0 ? r : null;
    }, 15_000, 200);
    expect(ok.stdout.trim()).toBe('in');

    // removing it pushes the keys again: the next connection with it is refused
    const other = (await s.api.client.as(s.alice).listSshKeys()).items.find((k) => k.name === 'other')!;
    await s.api.client.as(s.alice).removeSshKey(other.id);
    const revoked = await until('the removed key to be refused', async () => {
      const r = await ssh(otherKey, 'echo in');
      return r.code === 255 ? r : null;
    }, 15_000, 200);
    expect(revoked.stderr).toMatch(/Permission denied \(publickey\)/);
    expect((await ssh(aliceKey, 'echo', 'still-in')).stdout.trim()).toBe('still-in');
  });

  it("refuses knot forward ssh into another user's space, with a clear message", async () => {
    for (const host of ['sshbox.knot', 'sshbox.alice.knot', id]) {
      const r = await run(process.execPath, [CLI, 'forward', 'ssh', host], env(s.bob));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/knot: space '.*' (of alice )?not found/);
    }
    const noLogin = await run(process.execPath, [CLI, 'forward', 'ssh', 'sshbox.knot'], { ...env(''), KNOT_TOKEN: '', KNOT_URL: '' });
    expect(noLogin.code).not.toBe(0);
    expect(noLogin.stderr).toMatch(/not logged in/);
  });

  it('connects with knot ssh and with the Host entries knot ssh-config writes', async () => {
    const viaKnot = await run(process.execPath, [CLI, 'ssh', 'sshbox', '-i', aliceKey, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '--', 'echo', 'via-knot-ssh'], env(s.alice));
    expect(viaKnot.stderr).toBe('');
    expect(viaKnot.stdout.trim()).toBe('via-knot-ssh');
    // knot ssh pinned the key in knot's own known_hosts
    expect(readFileSync(path.join(tmp, 'config', 'knot', 'known_hosts'), 'utf8')).toContain(info.knownHostsLine);

    const config = path.join(tmp, 'ssh_config');
    writeFileSync(config, 'Host example\n  User nobody\n');
    const written = await run(process.execPath, [CLI, 'ssh-config', '--file', config], env(s.alice));
    expect(written.code).toBe(0);
    const text = readFileSync(config, 'utf8');
    expect(text.startsWith('Host example\n  User nobody\n# >>> knot ssh-config >>>\n')).toBe(true);
    expect(text).toContain('Host sshbox.knot\n');
    expect(text).toContain('StrictHostKeyChecking yes');
    const r = await run(SSH, ['-F', config, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', aliceKey, 'sshbox.knot', 'echo', 'via-config'], env(s.alice));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('via-config');
    // again: the same file; --remove: back to what it was
    await run(process.execPath, [CLI, 'ssh-config', '--file', config], env(s.alice));
    expect(readFileSync(config, 'utf8')).toBe(text);
    await run(process.execPath, [CLI, 'ssh-config', '--file', config, '--remove'], env(s.alice));
    expect(readFileSync(config, 'utf8')).toBe('Host example\n  User nobody\n');
  });

  it("hands the connection to the image's own sshd when one listens on KNOT_SSH_PORT", async () => {
    // a stand-in sshd: its banner is enough to tell who answered
    const sshd = net.createServer((c) => c.end('SSH-2.0-image-sshd\r\n'));
    await new Promise<void>((r) => sshd.listen(0, '127.0.0.1', () => r()));
    try {
      const started = await s.startedSpace('withsshd');
      s.spawnAgent(started.env, { KNOT_SSH_PORT: String((sshd.address() as net.AddressInfo).port) });
      await s.agentState(started.id, 'connected');
      await until('the ssh service', async () => (await s.space(started.id)).status.agent.services.ssh === true, 20_000, 50);
      const r = await run(process.execPath, [CLI, 'forward', 'ssh', 'withsshd.knot'], env(s.alice));
      expect(r.stdout).toBe('SSH-2.0-image-sshd\r\n');
      expect(r.code).toBe(0);
    } finally {
      sshd.close();
    }
  });

  it('keeps the same host key after the space stops and starts again', async () => {
    await s.api.client.as(s.alice).stopSpace(id);
    await s.settled(id, 'stopped');
    await agent.stop();
    const stopped = await run(process.execPath, [CLI, 'forward', 'ssh', 'sshbox.knot'], env(s.alice));
    expect(stopped.code).not.toBe(0);
    expect(stopped.stderr).toMatch(/knot: space 'sshbox' is stopped/);
    // a refusal of a known user is audited
    const refusals = await s.api.client.listAudit({ action: 'ssh.open' } as never);
    expect(refusals.items.some((e: { resourceId: string | null; actor: string; outcome: string }) => e.actor === 'alice' && e.outcome === 'refused')).toBe(true);

    await s.api.client.as(s.alice).startSpace(id);
    const running = await s.settled(id, 'running');
    agent = s.spawnAgent(await agentTaskEnv(s.backend.sandbox.url, running.status.nomadJobId!), NO_IMAGE_SSHD);
    await s.agentState(id, 'connected');
    await until('the ssh service', async () => (await s.space(id)).status.agent.services.ssh === true, 20_000, 50);
    const again = await s.api.client.as(s.alice).getSpaceSsh(id);
    expect(again.knownHostsLine).toBe(info.knownHostsLine);
    // the known_hosts file from before the restart still matches (StrictHostKeyChecking=yes)
    const r = await ssh(aliceKey, 'echo', 'same-key');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('same-key');
  });
});
