/**
 * What an authenticated SSH connection may do in the space, on the agent's embedded server: a
 * shell or a command (with or without a PTY), the sftp subsystem (OpenSSH's own sftp-server,
 * spawned and piped exactly as sshd does it, so scp and sftp behave as against sshd), and local
 * port forwarding (`ssh -L`) to loopback addresses only. Everything else (remote forwarding, X11,
 * agent forwarding, client env) is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import type { IPty } from '@lydell/node-pty';
import type { Logger } from 'pino';
import type { Connection, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { isExecutableFile } from './shells';
import type { PtyModule } from './terminal-sessions';

/** Where Debian, Fedora, Alpine and Arch put OpenSSH's sftp-server. */
export const SFTP_SERVER_PATHS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/lib/ssh/sftp-server', '/usr/libexec/sftp-server'];

/** node-pty can report a PTY's exit before its last output; give the output this long to arrive. */
const PTY_EXIT_SETTLE_MS = 50;

export interface SshSessionOptions {
  pty: PtyModule | null;
  /** the user's login shell */
  shell: string;
  env: Record<string, string>;
  cwd: string;
  /** sftp-server's path, null when the space has none */
  sftpServer: string | null;
  logger: Logger;
  onActivity(): void;
}

/** Whether a `direct-tcpip` destination is inside the space: loopback only. */
export function isLoopbackDestination(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** The first sftp-server that exists, or null. */
export function findSftpServer(exists: (file: string) => boolean = isExecutableFile): string | null {
  return SFTP_SERVER_PATHS.find((p) => exists(p)) ?? null;
}

function signalName(signal: string | number | null | undefined): string | null {
  if (signal === null || signal === undefined || signal === 0) return null;
  if (typeof signal === 'string') return signal.replace(/^SIG/, '');
  const found = Object.entries(os.constants.signals).find(([, n]) => n === signal);
  return found ? found[0].replace(/^SIG/, '') : 'KILL';
}

/** Sends the exit status (or signal) and ends the channel. */
function finish(channel: ServerChannel, code: number | null, signal: string | number | null | undefined): void {
  try {
    const sig = signalName(signal);
    if (sig) channel.exit(sig, false, '');
    else channel.exit(code ?? 0);
    channel.end();
  } catch {
    // the client already closed the channel
  }
}

/** Wires one SSH session channel: pty, window-change, shell, exec, subsystem, signal. */
export function handleSession(session: Session, opts: SshSessionOptions): void {
  const { logger } = opts;
  let pty: PseudoTtyInfo | null = null;
  let term: IPty | null = null;
  let child: ChildProcess | null = null;

  session.on('pty', (accept, reject, info) => {
    if (!opts.pty) return reject?.();
    pty = info;
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (pty) pty = { ...pty, cols: info.cols, rows: info.rows };
    try {
      term?.resize(Math.max(1, info.cols), Math.max(1, info.rows));
    } catch {
      // the shell is exiting
    }
    accept?.();
  });
  // the client's environment (LANG, LC_*) is not applied: the space's own environment is the one
  session.on('env', (_accept, reject) => reject?.());
  session.on('x11', (_accept, reject) => reject?.());
  session.on('auth-agent', (_accept, reject) => reject?.());
  session.on('signal', (accept, _reject, info) => {
    const name = `SIG${info.name}` as NodeJS.Signals;
    try {
      if (term) term.kill(name);
      else child?.kill(name);
    } catch {
      // an unknown signal name, or already gone
    }
    accept?.();
  });

  const run = (channel: ServerChannel, command: string | null) => {
    const args = command === null ? ['-l'] : ['-c', command];
    if (pty && opts.pty) term = runInPty(channel, opts, args, pty);
    else child = runPiped(channel, opts, opts.shell, args);
  };
  session.on('shell', (accept) => {
    const channel = accept();
    logger.info({ pty: Boolean(pty) }, 'ssh shell');
    run(channel, null);
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    logger.info({ pty: Boolean(pty), command: info.command.slice(0, 200) }, 'ssh exec');
    run(channel, info.command);
  });
  session.on('subsystem', (accept, reject, info) => {
    if (info.name !== 'sftp' || !opts.sftpServer) {
      logger.info({ subsystem: info.name }, info.name === 'sftp' ? 'sftp refused: no sftp-server in this space (install openssh-sftp-server; `scp -O` works without it)' : 'ssh subsystem refused');
      return reject?.();
    }
    const channel = accept();
    logger.info('ssh sftp');
    child = runPiped(channel, opts, opts.sftpServer, []);
  });
}

function runInPty(channel: ServerChannel, opts: SshSessionOptions, args: string[], info: PseudoTtyInfo): IPty | null {
  let proc: IPty;
  try {
    // encoding null: bytes go through as they are, never re-decoded
    proc = opts.pty!.spawn(opts.shell, args, {
      name: info.term || 'xterm-256color',
      cols: Math.max(1, info.cols || 80),
      rows: Math.max(1, info.rows || 24),
      cwd: opts.cwd,
      env: { ...opts.env, TERM: info.term || 'xterm-256color' },
      encoding: null,
    });
  } catch (e) {
    opts.logger.error({ err: e, shell: opts.shell }, 'ssh: could not start the shell');
    channel.stderr.write(`could not start ${opts.shell}: ${(e as Error).message}\r\n`);
    finish(channel, 127, null);
    return null;
  }
  let exited = false;
  proc.onData((data) => {
    // the client's window is full: hold the shell until it drains
    if (!channel.write(data as unknown as Buffer)) {
      proc.pause();
      channel.once('drain', () => {
        if (!exited) proc.resume();
      });
    }
  });
  proc.onExit(({ exitCode, signal }) => {
    exited = true;
    setTimeout(() => finish(channel, exitCode, signal), PTY_EXIT_SETTLE_MS);
  });
  channel.on('data', (d: Buffer) => {
    opts.onActivity();
    if (!exited) proc.write(d as unknown as string);
  });
  channel.on('close', () => {
    if (exited) return;
    try {
      proc.kill('SIGHUP');
    } catch {
      // gone already
    }
  });
  return proc;
}

function runPiped(channel: ServerChannel, opts: SshSessionOptions, file: string, args: string[]): ChildProcess {
  const proc = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: 'pipe' });
  proc.stdout.pipe(channel, { end: false });
  proc.stderr.pipe(channel.stderr, { end: false });
  channel.on('data', () => opts.onActivity());
  channel.pipe(proc.stdin);
  proc.stdin.on('error', () => {}); // the program exited before reading all its input
  proc.on('error', (e) => {
    opts.logger.warn({ err: e, file }, 'ssh: could not run');
    channel.stderr.write(`could not run ${file}: ${e.message}\n`);
    finish(channel, 127, null);
  });
  // 'close': the program exited and its output streams ended, so all of it is in the channel
  proc.on('close', (code, signal) => finish(channel, code, signal));
  channel.on('close', () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGHUP');
  });
  return proc;
}

/** `ssh -L`: a channel to a TCP port on the space's loopback; anything else is refused. */
export function handleTcpip(client: Connection, logger: Logger, onActivity: () => void): void {
  client.on('tcpip', (accept, reject, info) => {
    if (!isLoopbackDestination(info.destIP)) {
      logger.info({ dest: info.destIP, port: info.destPort }, 'ssh forward refused: only loopback destinations');
      return reject();
    }
    const host = info.destIP === 'localhost' ? '127.0.0.1' : info.destIP.replace(/^\[|\]$/g, '');
    const socket = net.connect({ host, port: info.destPort });
    socket.once('error', () => reject());
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      const channel = accept();
      logger.debug({ port: info.destPort }, 'ssh forward');
      channel.on('data', () => onActivity());
      socket.on('error', () => channel.destroy());
      channel.on('error', () => socket.destroy());
      channel.on('close', () => socket.destroy());
      socket.pipe(channel).pipe(socket);
    });
  });
  // remote forwarding (ssh -R) would listen inside the space on a client's behalf: not offered
  client.on('request', (_accept, reject) => reject?.());
}
