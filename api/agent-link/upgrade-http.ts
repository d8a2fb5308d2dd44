/**
 * What every WebSocket upgrade on the API shares: refusing one before it is upgraded (a plain HTTP
 * answer, problem+json, on the raw socket), the caller's address, and whether an Origin is this
 * server's own.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { KnotError } from '../../core/errors';
import { problemOf, toKnotError, PROBLEM_CONTENT_TYPE } from '../problem';
import type { Services } from '../context';

/** Answers an upgrade request with an HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, req: IncomingMessage, e: unknown, svc: Pick<Services, 'logger'>, headers: Record<string, string> = {}): KnotError {
  const { error, unexpected } = toKnotError(e);
  if (unexpected) svc.logger.error({ err: e, url: pathOf(req) }, 'upgrade failed');
  const problem = problemOf(error, { originalUrl: req.url ?? '', id: randomUUID() });
  const body = JSON.stringify(problem);
  const all: Record<string, string> = { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...headers };
  const retryAfter = error.details.retryAfter;
  if (typeof retryAfter === 'number') all['Retry-After'] = String(retryAfter);
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
  } else socket.destroy();
  return error;
}

export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

/** The peer address (upgrades do not pass through Express, so `trust proxy` is not applied). */
export function peerAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * The origins a page of this server has: `server.url`'s, and the Host it was reached by (a browser
 * on another site sends its own origin, never ours, whatever Host it reaches).
 */
export function isOwnOrigin(origin: string, req: IncomingMessage, svc: Pick<Services, 'config'>): boolean {
  const own = new Set<string>([new URL(svc.config.server.url).origin]);
  const host = req.headers.host;
  if (host) {
    own.add(`http://${host}`);
    own.add(`https://${host}`);
  }
  return own.has(origin);
}
