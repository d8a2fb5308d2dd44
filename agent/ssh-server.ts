/**
 * The agent's embedded SSH server. Nothing listens on a port: each SSH connection arrives as one
 * HTTP/2 stream of the link (`POST /v1/ssh`) and is handed to ssh2 with `injectSocket`. The host
 * key and the authorized keys come from the server (`PUT /v1/ssh/config`, link/protocol.ts); until
 * they have, there is no SSH server and the route answers 503.
 *
 * Authentication is by public key only, against the space owner's keys as last pushed; one account
 * per space, so whatever user name the client sends is accepted (and logged when it is not the
 * space's user).
 */
import os from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Server, utils, type Connection, type ParsedKey, type PublicKeyAuthContext } from 'ssh2';
import type { SshConfig } from '../link/protocol';
import { handleSession, handleTcpip, type SshSessionOptions } from './ssh-sessions';

/** Connections at once, a bound on what one space's owner can make the agent hold. */
export const MAX_SSH_CONNECTIONS = 64;

export interface SshServerOptions extends Omit<SshSessionOptions, 'logger' | 'onActivity'> {
  logger: Logger;
  /** the space's user (KNOT_USER), else the agent's own */
  user: string | null;
  onActivity(): void;
  /** open SSH connections (authenticated or piped to the image's sshd) */
  onCountChange(count: number): void;
  /** the embedded server got (or lost) a usable config */
  onConfigured(configured: boolean): void;
}

/** The keys of authorized_keys lines that parse; the rest are reported by their position. */
export function parseAuthorizedKeys(lines: string[]): { keys: ParsedKey[]; bad: number[] } {
  const keys: ParsedKey[] = [];
  const bad: number[] = [];
  lines.forEach((line, i) => {
    const parsed = utils.parseKey(line.trim());
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) bad.push(i);
    else keys.push(key);
  });
  return { keys, bad };
}

/** The authorized key a client offers, when it is one (compared as wire-format public key blobs). */
export function findKey(keys: ParsedKey[], offered: { data: Buffer }): ParsedKey | undefined {
  return keys.find((k) => k.getPublicSSH().equals(offered.data));
}

export class SshServer {
  private server: Server | null = null;
  private hostKey: string | null = null;
  private keys: ParsedKey[] = [];
  private open = 0;

  constructor(private readonly opts: SshServerOptions) {}

  get configured(): boolean {
    return this.server !== null;
  }

  get count(): number {
    return this.open;
  }

  /** Applies a pushed config; throws when the host key is not one ssh2 can use. */
  configure(config: SshConfig): void {
    const { keys, bad } = parseAuthorizedKeys(config.authorizedKeys);
    if (bad.length) this.opts.logger.warn({ lines: bad }, 'ssh: some authorized keys did not parse and are ignored');
    if (config.hostKey !== this.hostKey) {
      const parsed = utils.parseKey(config.hostKey);
      if (parsed instanceof Error) throw new Error(`the SSH host key does not parse: ${parsed.message}`);
      // connections already open keep the server they came in on; new ones get the new key
      this.server = new Server({ hostKeys: [config.hostKey], ident: 'knot' }, (client) => this.connection(client));
      this.hostKey = config.hostKey;
    }
    this.keys = keys;
    this.opts.logger.info({ authorizedKeys: keys.length }, 'ssh configured');
    this.opts.onConfigured(true);
  }

  /** Serves one SSH connection over `stream` (false when not configured: the caller answers 503). */
  inject(stream: Duplex): boolean {
    if (!this.server) return false;
    if (this.open >= MAX_SSH_CONNECTIONS) {
      this.opts.logger.warn('ssh: too many connections; refusing one');
      stream.destroy();
      return true;
    }
    this.server.injectSocket(stream as unknown as import('node:net').Socket);
    return true;
  }

  /** Counts a connection the agent pipes elsewhere (the image's sshd) while `stream` is open. */
  track(stream: Duplex): void {
    this.changeCount(1);
    stream.on('data', () => this.opts.onActivity());
    stream.once('close', () => this.changeCount(-1));
  }

  private changeCount(by: number): void {
    this.open += by;
    this.opts.onCountChange(this.open);
  }

  private connection(client: Connection): void {
    const logger = this.opts.logger;
    let counted = false;
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      this.authenticate(ctx);
    });
    client.on('ready', () => {
      counted = true;
      this.changeCount(1);
    });
    client.on('session', (accept) => {
      handleSession(accept(), { ...this.opts, logger, onActivity: () => this.opts.onActivity() });
    });
    handleTcpip(client, logger, () => this.opts.onActivity());
    client.on('error', (e) => logger.debug({ err: e }, 'ssh connection error'));
    client.on('close', () => {
      if (counted) this.changeCount(-1);
      counted = false;
    });
  }

  private authenticate(ctx: PublicKeyAuthContext): void {
    const key = findKey(this.keys, ctx.key);
    if (!key) return ctx.reject(['publickey']);
    // the query phase (no signature): "would this key do?"; the real one proves the private key
    if (ctx.signature && ctx.blob) {
      if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      const own = this.opts.user ?? os.userInfo().username;
      if (ctx.username !== own) this.opts.logger.info({ asked: ctx.username, user: own }, `ssh: user name ${ctx.username} logs in as ${own} (one account per space)`);
      this.opts.logger.info({ key: key.type, comment: key.comment || undefined }, 'ssh login');
    }
    ctx.accept();
  }
}
