/**
 * The link's second mode: HTTP/2 straight on the upgraded TCP (or TLS) socket, no WebSocket frames.
 *
 * Why: with HTTP/2 over a WebSocket every HTTP/2 write becomes a WebSocket frame built in
 * JavaScript and every read goes through `ws`'s parser and Node's JS stream socket (HTTP/2 cannot
 * use the native socket path then): a third of the API's and the agent's CPU per proxied request,
 * and most of their CPU per forwarded byte (bench/RESULTS.md §11). On the socket itself Node's
 * HTTP/2 reads and writes natively.
 *
 * Negotiation, one round trip, old agents and old servers keep working: the agent sends the usual
 * WebSocket upgrade (same path, token and headers) offering `LINK_SUBPROTOCOL_H2` first and
 * `LINK_SUBPROTOCOL` second. A server that knows the raw mode answers 101 naming
 * LINK_SUBPROTOCOL_H2, and from the next byte on both ends speak HTTP/2 (the server as its
 * client, as before). A server that does not picks LINK_SUBPROTOCOL (a WebSocket link); the agent
 * then drops that socket and dials a WebSocket link as before. An agent that offers only
 * LINK_SUBPROTOCOL gets a WebSocket link.
 *
 * What the WebSocket gave and the raw mode does otherwise:
 * - liveness: HTTP/2 PING both ways every heartbeat (answered by the peer's HTTP/2 stack) instead
 *   of WebSocket ping/pong;
 * - a close with a code and a reason (LinkClose): an HTTP/2 GOAWAY whose debug data is
 *   `{"code":…,"reason":…}` (encodeLinkClose), then the socket ends.
 */
import { createHash } from 'node:crypto';

export const LINK_SUBPROTOCOL_H2 = 'knot-link.h2';

/** RFC 6455 4.2.2: the Sec-WebSocket-Accept for a Sec-WebSocket-Key (the 101 must carry it). */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** The subprotocols a WebSocket upgrade offers (`Sec-WebSocket-Protocol: a, b`). */
export function offeredSubprotocols(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A link close's code and reason as GOAWAY debug data. */
export function encodeLinkClose(code: number, reason: string): Buffer {
  return Buffer.from(JSON.stringify({ code, reason: reason.slice(0, 120) }), 'utf8');
}

/** The code and reason a GOAWAY's debug data carries, or null (none, or not ours). */
export function decodeLinkClose(data: Buffer | undefined): { code: number; reason: string } | null {
  if (!data || data.length === 0 || data.length > 1024) return null;
  try {
    const v = JSON.parse(data.toString('utf8')) as { code?: unknown; reason?: unknown };
    if (typeof v.code !== 'number' || !Number.isInteger(v.code)) return null;
    return { code: v.code, reason: typeof v.reason === 'string' ? v.reason.slice(0, 120) : '' };
  } catch {
    return null;
  }
}
