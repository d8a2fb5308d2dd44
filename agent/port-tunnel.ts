/**
 * `CONNECT 127.0.0.1:<port>` on the link: one TCP connection to a port inside the space, its bytes
 * as the two stream bodies (link/protocol.ts). Only loopback is dialled, so the link never becomes
 * a way into the space's network neighbours; the agent's own health-check port is refused.
 *
 * Both directions are piped (backpressure holds) and end separately: the server's end of body is
 * a FIN to the app, the app's FIN ends the response body, and the other direction carries on.
 *
 * A tunnel the server asks for its HTTP pool (POOLED_TUNNEL_HEADER) is the same pipe, but it is not
 * counted as a session: it stays open between requests, and an idle space must not look in use.
 * Its bytes from the server (each request) are activity, as every tunnel's are.
 */
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { Logger } from 'pino';
import { CONNECT_HOST, POOLED_TUNNEL_HEADER, POOLED_TUNNEL_HTTP } from '../link/protocol';
import { pipeByTurn } from '../link/turn-pipe';

export interface TunnelDeps {
  /** ports the agent serves itself (the health check): never tunnelled to */
  ownPorts: () => number[];
  /** data arrived from the client side (user activity) */
  onActivity: () => void;
  /** open tunnels went up (+1) or down (-1) */
  onCount: (delta: number) => void;
  logger: Logger;
  /** how long the dial may take before a 504 */
  dialTimeoutMs?: number;
}

const DIAL_TIMEOUT_MS = 10_000;

/** The port of a CONNECT authority, or an error to answer with. */
export function connectTarget(authority: string | undefined, ownPorts: number[]): { port: number } | { status: number; error: string } {
  const m = /^([^:]+):(\d{1,5})$/.exec(authority ?? '');
  if (!m) return { status: 400, error: 'CONNECT needs :authority 127.0.0.1:<port>' };
  if (m[1] !== CONNECT_HOST && m[1] !== 'localhost') return { status: 403, error: 'only ports on 127.0.0.1 inside the space are reachable' };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { status: 400, error: 'the port must be 1-65535' };
  if (ownPorts.includes(port)) return { status: 403, error: "the agent's own port is not reachable" };
  return { port };
}

function refuse(stream: ServerHttp2Stream, status: number, error: string): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(`${error}\n`);
}

export function serveConnect(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, deps: TunnelDeps): void {
  const target = connectTarget(headers[':authority'], deps.ownPorts());
  if ('error' in target) return refuse(stream, target.status, target.error);
  // a server's pooled HTTP/1 connection: its requests are activity, its idle time is not a session
  const pooled = headers[POOLED_TUNNEL_HEADER] === POOLED_TUNNEL_HTTP;
  // allowHalfOpen: the app's FIN must not end our writes to it (and the other way round)
  const socket = net.connect({ host: CONNECT_HOST, port: target.port, allowHalfOpen: true });
  socket.setTimeout(deps.dialTimeoutMs ?? DIAL_TIMEOUT_MS, () => {
    socket.destroy();
    refuse(stream, 504, `nothing answered on port ${target.port} in time`);
  });
  socket.once('error', (e: NodeJS.ErrnoException) => {
    if (!stream.headersSent) refuse(stream, 502, `port ${target.port}: ${e.code ?? e.message}`);
    else if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
  });
  stream.on('error', (e) => deps.logger.debug({ err: e, port: target.port }, 'tunnel stream error'));
  socket.once('connect', () => {
    socket.setTimeout(0);
    if (stream.destroyed) {
      socket.destroy();
      return;
    }
    if (pooled) {
      // request after request, each small: no Nagle delay between head and body
      socket.setNoDelay(true);
      stream.respond({ ':status': 200, [POOLED_TUNNEL_HEADER]: POOLED_TUNNEL_HTTP });
    } else {
      deps.onCount(1);
      socket.once('close', () => deps.onCount(-1));
      stream.respond({ ':status': 200 });
    }
    stream.on('data', () => deps.onActivity());
    // the link's DATA frames are ≤ 16 KiB each: one write to the app per turn, not per frame
    pipeByTurn(stream, socket);
    socket.pipe(stream);
    // a reset or a dropped link: the app's connection goes too (a clean end closes it via the pipes)
    stream.once('close', () => {
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR || !stream.readableEnded) socket.destroy();
    });
  });
}
