/**
 * `knot forward port <local-port> <space> <port>`: listens on 127.0.0.1:<local-port>, and each
 * connection there becomes one port stream to the space's port (link/protocol.ts portStreamPath),
 * so many run at once, each with its own backpressure and half-close: the bytes on the upgraded
 * socket itself (link/raw-port.ts) when the server offers that, else WebSocket messages
 * (link/ws-pipe.ts). `KNOT_PORT_STREAM=websocket` asks for WebSocket messages only (a proxy in
 * between that reads WebSocket frames).
 */
import net from 'node:net';
import type { Command } from 'commander';
import { KnotApiError, KnotClient, KnotConnectionError } from '../client';
import { portStreamPath } from '../link/protocol';
import { pipeRaw } from '../link/raw-port';
import { pipeOverWebSocket } from '../link/ws-pipe';
import { resolveClientConfig, type ClientConfig } from './client-config';
import { dialPortStream, PortStreamRefused, type PortStream } from './port-dial';

/** What a local socket buffers before it pushes back (reads themselves are libuv's, ≤ 64 KiB). */
const LOCAL_HIGH_WATER = 256 * 1024;

export interface PortForwardOptions extends ClientConfig {
  space: string;
  port: number;
  owner?: string;
  /** where to listen; port 0 picks a free one */
  listen: { host: string; port: number };
  /** one connection could not be relayed (the others carry on) */
  onError: (message: string) => void;
  /** false: WebSocket messages only (default: the raw mode when the server offers it) */
  raw?: boolean;
  /** each stream as it opens, with its mode (tests) */
  onStream?: (kind: PortStream['kind']) => void;
}

export interface PortForward {
  /** the local address actually listened on */
  address: net.AddressInfo;
  close(): Promise<void>;
}

function streamUrl(o: PortForwardOptions): string {
  const u = new URL(o.url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${portStreamPath(o.space, o.port)}`;
  if (o.owner) u.searchParams.set('owner', o.owner);
  return u.toString();
}

export function startPortForward(o: PortForwardOptions): Promise<PortForward> {
  const url = streamUrl(o);
  const open = new Set<net.Socket>();
  // allowHalfOpen: a local FIN ends only the upstream direction; pauseOnConnect: nothing is read before the stream is up
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, highWaterMark: LOCAL_HIGH_WATER }, (socket) => {
    open.add(socket);
    socket.on('error', () => socket.destroy());
    const dial = dialPortStream(url, { Authorization: `Bearer ${o.token}` }, { raw: o.raw !== false, timeoutMs: 30_000 });
    const abort = () => dial.abort();
    socket.once('close', () => open.delete(socket));
    socket.once('close', abort);
    dial.result.then(
      (stream) => {
        socket.off('close', abort);
        if (socket.destroyed) {
          if (stream.kind === 'raw') stream.socket.destroy();
          else stream.ws.terminate();
          return;
        }
        o.onStream?.(stream.kind);
        if (stream.kind === 'raw') pipeRaw(socket, stream.socket);
        else pipeOverWebSocket(stream.ws, socket);
        socket.resume();
      },
      (e: Error) => {
        if (e instanceof PortStreamRefused) o.onError(`${o.space}:${o.port}: ${e.message}`);
        else if (e.message !== 'aborted') o.onError(`cannot reach ${o.url}: ${e.message}`);
        socket.destroy();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', reject);
      resolve({
        address: server.address() as net.AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * Why the space's ports cannot be reached now (missing, another user's, not running), or null. Asked
 * once before listening: otherwise the refusal would only show at the first local connection.
 */
async function unreachable(cfg: ClientConfig, space: string, owner: string | undefined): Promise<string | null> {
  try {
    const s = await new KnotClient(cfg).getSpace(space, owner ? { owner } : {});
    return s.status.phase === 'running' ? null : `space '${s.name}' is ${s.status.phase}; start it to reach its ports`;
  } catch (e) {
    if (e instanceof KnotApiError) return e.detail;
    if (e instanceof KnotConnectionError) return e.message;
    throw e;
  }
}

function portArg(value: string, what: string, allowZero: boolean): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) {
    process.stderr.write(`knot: ${what} must be a port number (${allowZero ? 0 : 1}-65535), not "${value}"\n`);
    process.exit(2);
  }
  return n;
}

export function registerPortForwardCommand(program: Command): void {
  // `knot forward ssh` may have made the group already
  const forward = program.commands.find((c) => c.name() === 'forward') ?? program.command('forward').description('relay a connection into a space over the knot server');
  forward
    .command('port <local-port> <space> <port>')
    .description('listen on 127.0.0.1:<local-port> (0: any free port); each connection reaches 127.0.0.1:<port> inside the space')
    .option('--owner <username>', "the space's owner (admins, for another user's space)")
    .option('--bind <address>', 'the local address to listen on', '127.0.0.1')
    .action(async (localPort: string, space: string, port: string, opts: { owner?: string; bind: string }) => {
      let cfg: ClientConfig;
      try {
        cfg = resolveClientConfig();
      } catch (e) {
        process.stderr.write(`knot: ${(e as Error).message}\n`);
        process.exit(1);
      }
      const target = portArg(port, '<port>', false);
      const listenPort = portArg(localPort, '<local-port>', true);
      const why = await unreachable(cfg, space, opts.owner);
      if (why !== null) {
        process.stderr.write(`knot: ${why}\n`);
        process.exit(1);
      }
      try {
        const fwd = await startPortForward({
          ...cfg,
          space,
          port: target,
          ...(opts.owner ? { owner: opts.owner } : {}),
          listen: { host: opts.bind, port: listenPort },
          raw: process.env.KNOT_PORT_STREAM !== 'websocket',
          onError: (m) => process.stderr.write(`knot: ${m}\n`),
        });
        process.stdout.write(`forwarding ${fwd.address.address}:${fwd.address.port} → ${space}:${target}\n`);
        const stop = () => void fwd.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (e) {
        process.stderr.write(`knot: cannot listen on ${opts.bind}:${localPort}: ${(e as Error).message}\n`);
        process.exit(1);
      }
    });
}
