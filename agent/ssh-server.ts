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
import type { Connection, ParsedKey, PublicKeyAuthContext, Server } from 'ssh2';

/**
 * ssh2 is loaded at the first SSH connection, not at start: most spaces are never reached by SSH,
 * and an idle agent should stay small (the module costs several MiB of resident memory).
 */
function ssh2(): typeof import('ssh2') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy (see above)
  return require('ssh2') as typeof import('ssh2');
}

/** A private key in one of the PEM-style armours ssh2 reads (checked fully when first used). */
const ARMOURED_KEY = /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
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
    const parsed = ssh2().utils.parseKey(line.trim());
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
  private config: SshConfig | null = null;
  private keysFrom: string[] | null = null;
  private keys: ParsedKey[] = [];
  private open = 0;

  constructor(private readonly opts: SshServerOptions) {}

  get configured(): boolean {
    return this.config !== null;
  }

  get count(): number {
    return this.open;
  }

  /** Takes a pushed config; throws when the host key is plainly not a private key. */
  configure(config: SshConfig): void {
    if (!ARMOURED_KEY.test(config.hostKey.trim())) throw new Error('the SSH host key does not parse: not an armoured private key');
    this.config = config;
    // once ssh2 is loaded (a connection came), a new config applies at once; before, at first use
    if (this.server) this.prepare();
    this.opts.logger.info({ authorizedKeys: config.authorizedKeys.length }, 'ssh configured');
    this.opts.onConfigured(true);
  }

  /** The ssh2 server for the current config, built (and the keys parsed) when first needed. */
  private prepare(): Server | null {
    const config = this.config;
    if (!config) return null;
    if (config.hostKey !== this.hostKey) {
      const parsed = ssh2().utils.parseKey(config.hostKey);
      if (parsed instanceof Error) {
        this.opts.logger.error({ reason: parsed.message }, 'ssh: the pushed host key does not parse; SSH is off until the next push');
        this.config = null;
        this.opts.onConfigured(false);
        return null;
      }
      // connections already open keep the server they came in on; new ones get the new key
      this.server = new (ssh2().Server)({ hostKeys: [config.hostKey], ident: 'knot' }, (client) => this.connection(client));
      this.hostKey = config.hostKey;
    }
    if (this.keysFrom !== config.authorizedKeys) {
      const { keys, bad } = parseAuthorizedKeys(config.authorizedKeys);
      if (bad.length) this.opts.logger.warn({ lines: bad }, 'ssh: some authorized keys did not parse and are ignored');
      this.keys = keys;
      this.keysFrom = config.authorizedKeys;
    }
    return this.server;
  }

  /** Serves one SSH connection over `stream` (false when not configured: the caller answers 503). */
  inject(stream: Duplex): boolean {
    const server = this.prepare();
    if (!server) return false;
    if (this.open >= MAX_SSH_CONNECTIONS) {
      this.opts.logger.warn('ssh: too many connections; refusing one');
      stream.destroy();
      return true;
    }
    server.injectSocket(stream as unknown as import('node:net').Socket);
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
      // opening a session is the user's doing: `ssh space cmd` may send no input at all
      this.opts.onActivity();
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
