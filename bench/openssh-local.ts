/**
 * The OpenSSH baseline of the SSH and port benchmarks: a private sshd of our own on a free loopback
 * port (a temp config, host key and authorized_keys; never the system's sshd or its config), a
 * client key that both it and the knot account accept, and the `ssh` argument lists for reaching
 * it directly or a space through `knot forward ssh`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { note } from './report';

export const SSH = '/usr/bin/ssh';
const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** The knot CLI as built (the ProxyCommand and `knot forward port`). */
export const KNOT_CLI = path.join(__dirname, '..', 'cli', 'main.js');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to its end; `ms` is spawn to exit. */
export function runTimed(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
export async function portAccepts(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what}: nothing accepts on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface LocalSshd {
  port: number;
  pid: number;
  /** the client's private key (its public half is in the sshd's authorized_keys) */
  clientKey: string;
  clientPublicKey: string;
  /** known_hosts pinning this sshd's host key under [127.0.0.1]:port */
  knownHosts: string;
  /** the scratch directory: config, keys, known_hosts files */
  dir: string;
  /** who logs in (the user the bench runs as: sshd may only log in as an existing account) */
  user: string;
  output(): string;
  stop(): Promise<void>;
}

async function keygen(file: string): Promise<void> {
  const r = await runTimed(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(file), '-f', file], process.env);
  if (r.code !== 0) throw new Error(`ssh-keygen ${file}: ${r.stderr}`);
}

export async function startLocalSshd(): Promise<LocalSshd> {
  if (!existsSync(SSHD) || !existsSync(SSH)) throw new Error(`OpenSSH is missing (${SSHD}, ${SSH})`);
  if (process.getuid?.() !== 0) throw new Error('the sshd baseline needs root (sshd only logs in with privilege separation as root)');
  // sshd refuses to start without its privilege-separation directory; Debian's unit creates it at
  // boot (RuntimeDirectory), a container without systemd never does. An empty directory is all it is.
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    note('created /run/sshd (sshd privilege-separation directory, empty)');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-bench-sshd-'));
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKey = path.join(dir, 'client_ed25519');
  await keygen(hostKey);
  await keygen(clientKey);
  const clientPublicKey = readFileSync(`${clientKey}.pub`, 'utf8').trim();
  writeFileSync(path.join(dir, 'authorized_keys'), `${clientPublicKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const cfg = path.join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      // DNS of the client address and the MOTD would be sshd work knot's agent does not do
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'Subsystem sftp internal-sftp',
      // sshd runs `true` as `$SHELL -c true` in the account's real HOME; Debian's bash then sources
      // ~/.bashrc (it was "run by ssh"), which on this machine runs pyenv's rehash (up to 60 s on
      // its lock). knot's agent runs the same `bash -c true` in a scratch HOME with no rc file.
      // bash skips ~/.bashrc when it is not the top-level shell, so SHLVL=1 makes both sides equal.
      'SetEnv SHLVL=1',
      '',
    ].join('\n'),
  );
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}\n`);
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (!child.pid) throw new Error('could not start sshd');
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await portAccepts(port, 10_000, 'sshd');
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\nsshd output:\n${out}`, { cause: e });
  }
  return { port, pid: child.pid, clientKey, clientPublicKey, knownHosts, dir, user: os.userInfo().username, output: () => out, stop };
}

/** Options both sides share: no user config, only our key, a pinned host key, never a prompt. */
function commonOptions(key: string, knownHosts: string): string[] {
  return ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'LogLevel=ERROR'];
}

/** ssh arguments (before the command) that reach the local sshd directly. */
export function directSshArgs(sshd: LocalSshd): string[] {
  return [...commonOptions(sshd.clientKey, sshd.knownHosts), '-p', String(sshd.port), `${sshd.user}@127.0.0.1`];
}

export interface KnotSshTarget {
  /** `<space>.knot`: the host name and the HostKeyAlias (GET /api/v1/spaces/:id/ssh) */
  sshConfigHost: string;
  owner: string;
  /** known_hosts pinning the space's host key under sshConfigHost */
  knownHosts: string;
}

/** ssh arguments (before the command) that reach a space through `knot forward ssh`, as tests/e2e/ssh.test.ts runs it. */
export function knotSshArgs(key: string, t: KnotSshTarget): string[] {
  return [...commonOptions(key, t.knownHosts), '-o', `ProxyCommand=${process.execPath} ${KNOT_CLI} forward ssh %h`, '-o', `HostKeyAlias=${t.sshConfigHost}`, `${t.owner}@${t.sshConfigHost}`];
}
