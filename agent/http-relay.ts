/**
 * Plain HTTP to a web port inside the space (link/protocol.ts HTTP_RELAY_PREFIX): each HTTP/2
 * request on the link becomes one request to 127.0.0.1:<port> over a keep-alive pool, and its
 * answer goes back as the stream's response, both bodies streamed with backpressure (an event
 * stream or a large download is never buffered).
 *
 * The same rules as a CONNECT tunnel (port-tunnel.ts): loopback only, never the agent's own
 * health-check port. A request counts as user activity; it is not a "session" (a page load is
 * dozens of requests: counting them would turn every page into state reports).
 */
import http from 'node:http';
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { CONNECT_HOST, HOP_BY_HOP_HEADERS, HTTP_RELAY_ERROR_HEADER, parseHttpRelayPath } from '../link/protocol';

export interface HttpRelayDeps {
  /** ports the agent serves itself (the health check): never relayed to */
  ownPorts: () => number[];
  /** a request arrived (user activity) */
  onActivity: () => void;
  logger: Logger;
}

/** Statuses whose answer has no body (RFC 9110 6.4.1): the stream ends with the headers. */
const NO_BODY_STATUS = new Set([204, 205, 304]);

/**
 * Keep-alive connections to the apps, shared by all ports (Node keys its pool by host:port).
 * Idle ones close after a few seconds so an app restart is not met by a dead socket for long;
 * LIFO reuse keeps the busy few warm and lets the rest time out.
 */
export function appConnectionPool(): http.Agent {
  return new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64, scheduling: 'lifo', timeout: 60_000 });
}

function refuse(stream: ServerHttp2Stream, status: number, error: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', [HTTP_RELAY_ERROR_HEADER]: '1' });
  stream.end(`${error}\n`);
}

/** The app request's headers: the link request's, minus pseudo-headers and anything connection-specific; Host from `:authority`. */
export function appRequestHeaders(headers: IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP_HEADERS.has(name) || name === 'host') continue;
    out[name] = value;
  }
  const authority = headers[':authority'];
  if (authority) out.host = authority;
  return out;
}

/** The app's response headers as HTTP/2 allows them (no connection-specific ones). */
export function relayResponseHeaders(status: number, headers: http.IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP_HEADERS.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export function serveHttpRelay(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, pool: http.Agent, deps: HttpRelayDeps): void {
  const target = parseHttpRelayPath(headers[':path'] ?? '');
  if (!target) return refuse(stream, 400, 'the path must be /v1/http/<port>/<path>');
  if (deps.ownPorts().includes(target.port)) return refuse(stream, 403, "the agent's own port is not reachable");
  const method = headers[':method'] ?? 'GET';
  deps.onActivity();
  const out = http.request({ host: CONNECT_HOST, port: target.port, method, path: target.appPath, headers: appRequestHeaders(headers), agent: pool, setHost: false });
  out.on('response', (answer) => {
    if (stream.destroyed) {
      answer.destroy();
      return;
    }
    const status = answer.statusCode ?? 502;
    const endStream = method === 'HEAD' || NO_BODY_STATUS.has(status);
    try {
      stream.respond(relayResponseHeaders(status, answer.headers), { endStream });
    } catch (e) {
      // a header HTTP/2 refuses (a malformed name or value from the app)
      answer.destroy();
      refuse(stream, 502, `the app's answer could not be relayed: ${(e as Error).message}`);
      return;
    }
    if (endStream) answer.resume();
    else answer.pipe(stream);
    answer.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  });
  out.on('error', (e: NodeJS.ErrnoException) => {
    if (!stream.headersSent) refuse(stream, 502, `port ${target.port}: ${e.code ?? e.message}`);
    else if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
  stream.on('error', (e) => deps.logger.debug({ err: e, port: target.port }, 'http relay stream error'));
  // the server gave up on the request (the client went away): the app's request goes too
  stream.once('close', () => {
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) out.destroy();
  });
  stream.pipe(out);
}
