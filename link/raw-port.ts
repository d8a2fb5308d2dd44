/**
 * A port stream's second mode (`knot forward port`, link/protocol.ts portStreamPath): the
 * connection's bytes straight on the upgraded TCP (or TLS) socket, no WebSocket frames — the same
 * step link/raw-link.ts took for the agent's link. On a WebSocket every 64 KiB read became a frame
 * built and parsed in JavaScript and a write of its own on the CLI and on the API
 * (bench/RESULTS.md §11); raw, the API pipes the socket into the link's CONNECT stream.
 *
 * Negotiation, one round trip, old CLIs and old servers keep working: the CLI sends the usual
 * WebSocket upgrade offering PORT_SUBPROTOCOL_RAW first and PORT_SUBPROTOCOL second. A server that
 * knows the raw mode answers 101 naming PORT_SUBPROTOCOL_RAW **and** `PORT_RAW_HEADER: raw`; from
 * the next byte on both ends pipe raw bytes. The header is what tells: a server from before this
 * mode hands the upgrade to `ws`, which (without a protocol hook) picks the first protocol offered
 * and so also names PORT_SUBPROTOCOL_RAW — but sends no such header, and speaks WebSocket; the CLI
 * then keeps that same socket as a WebSocket (cli/port-dial.ts). An old CLI offers no subprotocol
 * and gets a WebSocket.
 *
 * What the WebSocket's framing gave and the raw mode does otherwise: the end of one direction is
 * the socket's FIN (`end()`), passed on as `end()` of the other side (link/ws-pipe.ts sends an
 * empty message for it); a failure (or a revoked access) is a TCP reset of the socket instead of a
 * close code, so the peer sees an error, not a clean end it would take for a half-close. (Over TLS
 * there is no reset to send: the socket is only closed, and the peer sees its direction end.)
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { webSocketAccept } from './raw-link';
import { pipeByTurn } from './turn-pipe';

export const PORT_SUBPROTOCOL_RAW = 'knot-port.raw';
/** the WebSocket mode, named (clients from before offer no subprotocol at all, and get it too) */
export const PORT_SUBPROTOCOL = 'knot-port.v1';
/** on the 101 of a raw answer (an old server's `ws` answer may name PORT_SUBPROTOCOL_RAW too, without it) */
export const PORT_RAW_HEADER = 'knot-port-stream';

/** A Sec-WebSocket-Key as RFC 6455 makes it (16 random bytes, base64). */
export function validWebSocketKey(key: unknown): key is string {
  return typeof key === 'string' && /^[+/0-9A-Za-z]{22}==$/.test(key);
}

/** The server's 101 for the raw mode. */
export function rawPortAnswer(key: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(key)}\r\nSec-WebSocket-Protocol: ${PORT_SUBPROTOCOL_RAW}\r\n${PORT_RAW_HEADER}: raw\r\n\r\n`;
}

/** Tears a stream down: a TCP socket with a reset (RST), anything else destroyed. */
export function tearDown(s: Duplex): void {
  if (s.destroyed) return;
  if (s instanceof Socket) {
    try {
      s.resetAndDestroy();
      return;
    } catch {
      // not a TCP handle (TLS): closed below
    }
  }
  s.destroy();
}

/**
 * Pipes two byte streams into each other until both directions have ended (clean) or either side
 * fails or goes away before that (both torn down, tearDown). One side's end is the other's `end()`, so a
 * half-close crosses; backpressure is `pipe()`'s. Both streams must allow half-open. `byTurnFrom`:
 * the side whose chunks are small (an HTTP/2 stream: DATA frames of ≤ 16 KiB); what it delivers in
 * one turn of the event loop is written to the other as one (link/turn-pipe.ts).
 */
export function pipeRaw(a: Duplex, b: Duplex, onDone?: (clean: boolean) => void, byTurnFrom?: Duplex): void {
  let over = false;
  let closedClean = 0;
  const finish = (clean: boolean) => {
    if (over) return;
    over = true;
    if (!clean) {
      tearDown(a);
      tearDown(b);
    }
    onDone?.(clean);
  };
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    if (from === byTurnFrom) pipeByTurn(from, to);
    else from.pipe(to);
    from.on('error', () => finish(false));
    from.once('close', () => {
      // closed after both of its directions ended: the other side has ended (or is ending) as well
      if (from.readableEnded && from.writableFinished) {
        if (++closedClean === 2) finish(true);
      } else finish(false);
    });
  }
}
