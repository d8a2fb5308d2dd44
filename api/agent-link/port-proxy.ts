/**
 * Relaying one HTTP request to an app inside a space (over a pooled tunnel, app-tunnels.ts, or for
 * an older agent one HTTP/2 request on the agent link), or one upgrade (over a CONNECT tunnel of
 * its own): the request goes out with knot's own credentials removed and
 * X-Forwarded-* set, the response comes back streamed (nothing buffered), with redirects and
 * cookies kept under the app's address.
 *
 * Upgrades (WebSockets) are not parsed: the rewritten request head goes down the tunnel and from
 * then on bytes are piped both ways, so the app's own answer (101, or a refusal) reaches the
 * client as it sent it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2, { type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import { HOP_BY_HOP_HEADERS, HTTP_RELAY_ERROR_HEADER } from '../../link/protocol';
import { CSRF_COOKIE, SESSION_COOKIE } from '../sessions';
import type { LinkStreams } from './link-streams';

/** The per-app-host session cookie (port-sessions.ts); stripped like knot's own. */
export const PORT_SESSION_COOKIE = 'knot_port_session';
const KNOT_COOKIES = new Set([SESSION_COOKIE, CSRF_COOKIE, PORT_SESSION_COOKIE]);


export interface ProxyTarget {
  /** the path form's prefix without the trailing slash (`/spaces/alice/dev/ports/8080`); '' on an app host */
  prefix: string;
  /** what to ask the app for: the path (prefix removed) and query */
  path: string;
  /** where the client reached us: `http://knot.example.com`, `https://alice--dev--8080.knot.example.com` */
  publicOrigin: string;
  /** the app's port inside the space */
  port: number;
  /** drop Authorization: it carried knot's bearer token */
  stripAuthorization: boolean;
}

/** A Cookie header without knot's cookies; null when nothing is left. */
export function appCookies(header: string | undefined): string | null {
  if (!header) return null;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !KNOT_COOKIES.has(p.slice(0, p.indexOf('=') < 0 ? p.length : p.indexOf('=')).trim()));
  return kept.length ? kept.join('; ') : null;
}

let lastOrigin: { origin: string; host: string; proto: string } | null = null;
/** host and scheme of a public origin, parsed once per distinct origin (not twice per request) */
function originParts(origin: string): { host: string; proto: string } {
  if (lastOrigin?.origin !== origin) {
    const u = new URL(origin);
    lastOrigin = { origin, host: u.host, proto: u.protocol.replace(':', '') };
  }
  return lastOrigin;
}

/** The host (with its port) of a public origin. */
export function originHost(origin: string): string {
  return originParts(origin).host;
}

/** The headers the app gets: the client's minus hop-by-hop and knot's credentials, plus X-Forwarded-*. */
export function requestHeaders(req: IncomingMessage, t: ProxyTarget, upgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // the headers Connection names are hop-by-hop too (a keep-alive client rarely sends any)
  const connection = req.headers.connection;
  const connectionTokens = connection ? connection.toLowerCase().split(',').map((s) => s.trim()) : null;
  const headers = req.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.startsWith('x-forwarded-') || name === 'forwarded') continue;
    if (HOP_BY_HOP_HEADERS.has(name) || connectionTokens?.includes(name)) continue;
    if (name === 'authorization' && t.stripAuthorization) continue;
    if (name === 'cookie') continue;
    out[name] = value;
  }
  const cookies = appCookies(req.headers.cookie);
  if (cookies) out.cookie = cookies;
  if (upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = String(req.headers.upgrade ?? 'websocket');
  }
  const prior = req.headers['x-forwarded-for'];
  const peer = req.socket.remoteAddress ?? 'unknown';
  out['x-forwarded-for'] = typeof prior === 'string' && prior ? `${prior}, ${peer}` : peer;
  const { host, proto } = originParts(t.publicOrigin);
  out['x-forwarded-host'] = host;
  out['x-forwarded-proto'] = proto;
  if (t.prefix) out['x-forwarded-prefix'] = t.prefix;
  return out;
}

/** A redirect from the app, moved under its public address (a relative one is left alone). */
export function rewriteLocation(location: string, t: Pick<ProxyTarget, 'prefix' | 'publicOrigin' | 'port'>): string {
  const under = (path: string) => (t.prefix && !(path === t.prefix || path.startsWith(`${t.prefix}/`)) ? `${t.prefix}${path}` : path);
  if (location.startsWith('/') && !location.startsWith('//')) return under(location);
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    return location;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return location;
  // the app naming itself (127.0.0.1:port; URL drops a default port) or its public address
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const itself = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && port === t.port;
  if (!itself && u.host !== new URL(t.publicOrigin).host) return location;
  return `${t.publicOrigin}${under(u.pathname)}${u.search}${u.hash}`;
}

/**
 * A Set-Cookie from the app: never one of knot's names; no Domain (it would reach other hosts);
 * on the path form, Path moved under the prefix (the app's cookies stay with the app).
 */
export function rewriteSetCookie(line: string, prefix: string): string | null {
  const parts = line.split(';').map((p) => p.trim());
  const name = (parts[0] ?? '').split('=')[0]!.trim();
  if (!name || KNOT_COOKIES.has(name)) return null;
  const attrs = parts.slice(1).filter((a) => a && !/^domain\s*=/i.test(a));
  if (prefix) {
    const at = attrs.findIndex((a) => /^path\s*=/i.test(a));
    const path = at < 0 ? '/' : attrs[at]!.slice(attrs[at]!.indexOf('=') + 1).trim() || '/';
    const moved = `Path=${path === prefix || path.startsWith(`${prefix}/`) ? path : `${prefix}${path.startsWith('/') ? path : `/${path}`}`}`;
    if (at < 0) attrs.push(moved);
    else attrs[at] = moved;
  }
  return [parts[0], ...attrs].join('; ');
}

/** The app's response headers for the client: knot's rewrites of Location and Set-Cookie, nothing connection-specific. */
export function appResponseHeaders(headers: IncomingHttpHeaders, t: ProxyTarget): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP_HEADERS.has(name)) continue;
    if (name === 'location' && typeof value === 'string') out.location = rewriteLocation(value, t);
    else if (name === 'set-cookie') {
      const kept = (Array.isArray(value) ? value : [value]).map((c) => rewriteSetCookie(c, t.prefix)).filter((c): c is string => c !== null);
      if (kept.length) out['set-cookie'] = kept;
    } else out[name] = value;
  }
  return out;
}

/**
 * For an agent without pooled tunnels (app-tunnels.ts has the usual way):
 * sends `req` to the app as one HTTP/2 request on the link (link/protocol.ts HTTP_RELAY_PREFIX; the
 * agent keeps the TCP connections to the app alive) and streams the answer to `res`. `onError`
 * answers when the agent could not reach the app, or the link failed before the answer began.
 */
export function relayHttp(req: IncomingMessage, res: ServerResponse, link: Pick<LinkStreams, 'openHttp'>, t: ProxyTarget, onError: (e: Error) => void): void {
  const headers = requestHeaders(req, t, false);
  const authority = typeof headers.host === 'string' ? headers.host : originParts(t.publicOrigin).host;
  delete headers.host;
  // HTTP/1.1 has a body only with one of these (RFC 9112 6.3)
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  let stream: ClientHttp2Stream;
  try {
    stream = link.openHttp(t.port, { method: req.method ?? 'GET', path: t.path, authority, headers, endStream: !hasBody });
  } catch (e) {
    onError(e as Error);
    return;
  }
  stream.once('response', (h) => {
    const status = Number(h[':status']);
    if (h[HTTP_RELAY_ERROR_HEADER] !== undefined) {
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text = (text + c).slice(0, 300)));
      stream.once('end', () => onError(new Error(text.trim() || `the agent answered ${status}`)));
      return;
    }
    try {
      res.writeHead(status, appResponseHeaders(h, t));
    } catch (e) {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      onError(e as Error);
      return;
    }
    // an event stream or a long poll must not wait for its first body byte: the head goes out by
    // itself unless body bytes (or the end) came in the same read (then head and body share a write)
    const flush = setImmediate(() => res.flushHeaders());
    const settle = () => clearImmediate(flush);
    stream.once('data', settle);
    stream.once('end', settle);
    stream.once('close', settle);
    stream.pipe(res);
  });
  stream.on('error', (e) => {
    if (res.headersSent) res.destroy();
    else onError(e);
  });
  // the app's answer was cut (a reset, or the link went): the client must not take it as whole
  stream.once('close', () => {
    if (res.headersSent && !res.writableEnded) res.destroy();
  });
  // the client went away: the app's request goes too
  res.once('close', () => {
    if (!res.writableFinished && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  });
  if (hasBody) req.pipe(stream);
  else req.resume();
}

/** Writes the upgrade request's head down the tunnel and pipes the two raw byte streams. */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, tunnel: ClientHttp2Stream, t: ProxyTarget): void {
  const lines = [`${req.method ?? 'GET'} ${t.path} HTTP/1.1`];
  for (const [name, value] of Object.entries(requestHeaders(req, t, true))) {
    for (const v of Array.isArray(value) ? value : [value]) if (!/[\r\n]/.test(v)) lines.push(`${name}: ${v}`);
  }
  // Buffers only (see bufferWrites)
  tunnel.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  if (head.length) tunnel.write(head);
  const teardown = () => {
    socket.destroy();
    if (!tunnel.destroyed) tunnel.close();
  };
  tunnel.on('error', teardown);
  socket.on('error', teardown);
  // a clean end reaches the client through the pipe; a reset or a dropped link cuts it off
  tunnel.on('close', () => {
    if (!tunnel.readableEnded) socket.destroy();
  });
  socket.on('close', () => {
    if (!tunnel.destroyed) tunnel.close();
  });
  socket.pipe(tunnel);
  tunnel.pipe(socket);
}
