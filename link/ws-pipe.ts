/**
 * A byte stream (a TCP socket, a CONNECT tunnel) carried over a WebSocket, the same on both ends
 * of `knot forward port` (the CLI and the server; link/protocol.ts portStreamPath):
 *
 * - binary messages are the bytes; a zero-length binary message says "my direction has ended",
 *   so a TCP half-close survives the trip (createWebSocketStream cannot say that: its end()
 *   closes the whole socket);
 * - once this end has sent its end and everything the peer sent has been written out, it closes
 *   with 1000; a close before both directions ended (or any error) tears the stream down;
 * - backpressure both ways: a slow WebSocket pauses the stream, a slow stream pauses the socket.
 */
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

/** Above this many bytes waiting to be sent on the WebSocket, stop reading the stream. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * `generateMask` for knot's own WebSocket clients (the agent's link, `knot forward`): an all-zero
 * mask, so `ws` skips XOR-ing every byte in JavaScript (no native bufferutil here) on both ends.
 * Masking protects browsers' script-chosen bytes against confused proxy caches; these clients are
 * not browsers, and over wss (production) no proxy sees the frames at all.
 */
export const ZERO_MASK = (): void => {};

export const PortStreamClose = {
  Done: 1000,
  /** a text message: only binary messages carry bytes */
  Unsupported: 1003,
  /** the stream on this end failed */
  Failed: 1011,
} as const;

const END = Buffer.alloc(0);

/** Pipes `stream` through `ws` (already open) until both directions end or either side fails. */
export function pipeOverWebSocket(ws: WebSocket, stream: Duplex, onDone?: (clean: boolean) => void): void {
  let sentEnd = false;
  let gotEnd = false;
  let flushed = false;
  let over = false;
  let paused = false;

  const finish = (clean: boolean, code: number, reason: string) => {
    if (over) return;
    over = true;
    // a clean finish leaves the stream to close on its own (its writes may still be flushing)
    if (!clean) stream.destroy();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
    onDone?.(clean);
  };
  const maybeDone = () => {
    if (sentEnd && gotEnd && flushed) finish(true, PortStreamClose.Done, 'done');
  };
  const drained = () => {
    if (paused && ws.bufferedAmount < LOW_WATER) {
      paused = false;
      stream.resume();
    }
  };

  stream.on('data', (chunk: Buffer) => {
    if (chunk.length === 0 || ws.readyState !== ws.OPEN) return;
    ws.send(chunk, { binary: true }, drained);
    if (!paused && ws.bufferedAmount > HIGH_WATER) {
      paused = true;
      stream.pause();
    }
  });
  stream.once('end', () => {
    sentEnd = true;
    if (ws.readyState === ws.OPEN) ws.send(END, { binary: true });
    maybeDone();
  });
  stream.once('finish', () => {
    flushed = true;
    maybeDone();
  });
  stream.on('error', () => finish(false, PortStreamClose.Failed, 'the connection failed'));
  stream.once('close', () => {
    if (!(sentEnd && gotEnd)) finish(false, PortStreamClose.Failed, 'the connection closed');
  });

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (over) return;
    if (!isBinary) return finish(false, PortStreamClose.Unsupported, 'send binary messages');
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (bytes.length === 0) {
      gotEnd = true;
      stream.end();
      return;
    }
    if (gotEnd) return; // bytes after the peer's end: nothing can take them
    if (!stream.write(bytes)) {
      ws.pause();
      stream.once('drain', () => ws.resume());
    }
  });
  ws.once('close', () => {
    if (over) return;
    if (sentEnd && gotEnd) {
      over = true;
      onDone?.(true);
    } else finish(false, PortStreamClose.Failed, 'closed');
  });
  ws.on('error', () => finish(false, PortStreamClose.Failed, 'socket error'));
}
