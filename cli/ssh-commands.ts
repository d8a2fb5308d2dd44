/**
 * SSH into spaces from the command line:
 *   knot forward ssh <space>   stdin/stdout ↔ the space's SSH WebSocket (OpenSSH's ProxyCommand)
 *   knot ssh <space> [-- cmd]  runs OpenSSH through that, the space's host key pinned
 *   knot ssh-config [--remove] writes (or removes) knot's block of Host entries in ~/.ssh/config
 *
 * The host key is always pinned: knot keeps its own known_hosts file (next to the login config),
 * written from GET /api/v1/spaces/:id/ssh, and OpenSSH runs with StrictHostKeyChecking=yes, so a
 * different key is refused, never learned. (knot upstream writes StrictHostKeyChecking=no.)
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import WebSocket, { createWebSocketStream } from 'ws';
import { ZERO_MASK } from '../link/ws-pipe';
import { KnotApiError, KnotClient, KnotConnectionError, type SpaceSsh } from '../client';
import { parseSshHostAlias } from '../core/ssh-host-key';
import { sshStreamPath } from '../link/protocol';
import { clientConfigPath, resolveClientConfig } from './client-config';
import { hostOptions, mergeKnownHosts, proxyCommandOf, renderSshConfigBlock, withSshConfigBlock, type SshHostEntry } from './ssh-config';

/** Close codes of the SSH WebSocket (api/agent-link/ssh-bridge.ts) and the exit codes they give. */
const CLOSE_EXIT: Record<number, number> = { 4404: 4, 4409: 1, 4503: 1 };

function fail(message: string, code = 1): never {
  process.stderr.write(`knot: ${message}\n`);
  process.exit(code);
}

function failWith(e: unknown): never {
  if (e instanceof KnotApiError) fail(e.detail, e.status === 404 ? 4 : 1);
  if (e instanceof KnotConnectionError) fail(e.message);
  fail((e as Error).message ?? String(e));
}

/** knot's own known_hosts: beside the login config, so it goes where the token goes. */
export function knownHostsPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(path.dirname(clientConfigPath(env)), 'known_hosts');
}

function writePrivate(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function pinHostKeys(infos: SpaceSsh[]): string {
  const file = knownHostsPath();
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const after = mergeKnownHosts(before, infos.map((i) => i.knownHostsLine));
  if (after !== before) writePrivate(file, after);
  return file;
}

/** This knot as a command: node and its script (bin/knot or dist/cli/main.js). */
function selfArgv(): string[] {
  return [process.execPath, path.resolve(process.argv[1] ?? 'knot')];
}

function wsUrl(base: string, p: string): string {
  const u = new URL(base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${p}`;
  return u.toString();
}

/** stdin/stdout ↔ the space's SSH stream, until either side ends. */
function forwardSsh(host: string, ownerFlag: string | undefined): void {
  let cfg;
  try {
    cfg = resolveClientConfig();
  } catch (e) {
    fail((e as Error).message);
  }
  const { space, owner: aliasOwner } = parseSshHostAlias(host);
  const owner = ownerFlag ?? aliasOwner;
  const url = new URL(wsUrl(cfg.url, sshStreamPath(space)));
  if (owner) url.searchParams.set('owner', owner);
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${cfg.token}` }, perMessageDeflate: false, maxPayload: 1024 * 1024, handshakeTimeout: 30_000, generateMask: ZERO_MASK });
  const exit = (code: number) => process.stdout.write('', () => process.exit(code));
  ws.on('unexpected-response', (_req, res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body += c));
    res.on('end', () => {
      let detail = `HTTP ${res.statusCode}`;
      try {
        detail = (JSON.parse(body) as { detail?: string }).detail ?? detail;
      } catch {
        // not a problem document
      }
      fail(detail, res.statusCode === 404 ? 4 : 1);
    });
  });
  ws.on('error', (e) => fail(`cannot reach ${cfg.url}: ${e.message}`));
  ws.on('open', () => {
    const tunnel = createWebSocketStream(ws);
    tunnel.on('error', () => {});
    process.stdin.pipe(tunnel);
    tunnel.pipe(process.stdout);
  });
  ws.on('close', (code, reason) => {
    const why = reason.toString();
    if (code === 4404) fail(`space '${space}'${owner ? ` of ${owner}` : ''} not found`, 4);
    if (code >= 4000) fail(why || `closed (${code})`, CLOSE_EXIT[code] ?? 1);
    exit(0);
  });
}

/** The ssh arguments that reach `info`'s space through knot, with its key pinned. */
export function sshArgs(info: SpaceSsh, knownHostsFile: string, extra: string[] = []): string[] {
  const entry: SshHostEntry = { host: info.sshConfigHost, user: info.owner };
  const options = hostOptions(entry, proxyCommandOf(selfArgv()), knownHostsFile).flatMap(([k, v]) => ['-o', `${k}=${v.replace(/^"(.*)"$/, '$1')}`]);
  return [...options, ...extra, entry.host];
}

export function registerSshCommands(program: Command): void {
  const forward = program.command('forward').description('relay a connection into a space over the knot server');
  forward
    .command('ssh <space>')
    .description("stdin/stdout ↔ the space's SSH server (for OpenSSH: ProxyCommand knot forward ssh %h); <space> is a name, an id, or <space>.knot / <space>.<owner>.knot")
    .option('--owner <username>', "the space's owner (admins, for another user's space)")
    .action((space: string, opts: { owner?: string }) => forwardSsh(space, opts.owner));

  program
    .command('ssh <space> [command...]')
    .description('SSH into a space with OpenSSH (the host key pinned); a command after -- runs instead of a shell')
    .option('--owner <username>', "the space's owner (admins, for another user's space)")
    .option('-i, --identity <file>', 'the private key to use (ssh -i)')
    .option('-o, --ssh-option <option>', 'an extra ssh -o option (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (space: string, command: string[], opts: { owner?: string; identity?: string; sshOption: string[] }) => {
      let info: SpaceSsh;
      try {
        info = await new KnotClient(resolveClientConfig()).getSpaceSsh(space, opts.owner ? { owner: opts.owner } : {});
      } catch (e) {
        failWith(e);
      }
      const extra = [...(opts.identity ? ['-i', opts.identity] : []), ...opts.sshOption.flatMap((o) => ['-o', o])];
      const args = [...sshArgs(info, pinHostKeys([info]), extra), ...command];
      const child = spawn(process.env.KNOT_SSH ?? 'ssh', args, { stdio: 'inherit' });
      child.on('error', (e) => fail(`could not run ssh: ${e.message} (is OpenSSH's client installed?)`, 127));
      child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1)));
    });

  program
    .command('ssh-config')
    .description("write a Host entry for each of your spaces into ~/.ssh/config (one marked block; --remove takes it out)")
    .option('--remove', "remove knot's block")
    .option('--file <path>', 'the ssh config file', path.join(os.homedir(), '.ssh', 'config'))
    .action(async (opts: { remove?: boolean; file: string }) => {
      try {
        let block: string | null = null;
        let count = 0;
        if (!opts.remove) {
          const client = new KnotClient(resolveClientConfig());
          const spaces = await client.listAllSpaces();
          const infos: SpaceSsh[] = [];
          for (const s of spaces) {
            try {
              infos.push(await client.getSpaceSsh(s.id));
            } catch (e) {
              // one space we may not reach (deleted meanwhile) must not stop the rest
              if (!(e instanceof KnotApiError && e.status === 404)) throw e;
            }
          }
          const file = pinHostKeys(infos);
          block = renderSshConfigBlock(
            infos.map((i) => ({ host: i.sshConfigHost, user: i.owner })),
            proxyCommandOf(selfArgv()),
            file,
          );
          count = infos.length;
        }
        const before = existsSync(opts.file) ? readFileSync(opts.file, 'utf8') : null;
        const after = withSshConfigBlock(before ?? '', block);
        if (before === null && block === null) {
          process.stdout.write(`${opts.file} does not exist; nothing to remove\n`);
          return;
        }
        if (after !== before) {
          mkdirSync(path.dirname(opts.file), { recursive: true, mode: 0o700 });
          // a new file is private like ssh wants it; an existing one keeps its mode
          writeFileSync(opts.file, after, before === null ? { mode: 0o600 } : {});
        }
        process.stdout.write(opts.remove ? `removed knot's block from ${opts.file}\n` : `${count} space${count === 1 ? '' : 's'} in ${opts.file}: ssh <space>.knot\n`);
      } catch (e) {
        failWith(e);
      }
    });
}
