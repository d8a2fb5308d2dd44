/**
 * Terminal frames, shared by the browser, the server and the agent. No Node APIs (the web UI bundles
 * it): bytes are Uint8Array, text goes through TextEncoder/TextDecoder.
 *
 * Two encodings of the same frames:
 * - a WebSocket message (browser ⇄ server) is one frame: `[type u8][payload]`;
 * - a byte stream (server ⇄ agent, an HTTP/2 stream over the link) is a sequence of
 *   `[type u8][length u32 big-endian][payload]`.
 * An unknown type or an oversized payload is a FrameError: the receiver closes that one stream with
 * the reason, never the link or the process.
 */

export const FrameType = {
  /** bytes: keystrokes (to the PTY) or output (from it) */
  Data: 0,
  /** JSON `{cols, rows}`: to the PTY */
  Resize: 1,
  /** JSON `{code, signal}`: the shell ended; the stream ends after it */
  Exit: 2,
  /** UTF-8 text for the person at the terminal (e.g. "zsh is not installed here; using sh") */
  Notice: 3,
  /** UTF-8 reason; the sender closes the stream after it */
  Error: 4,
  /** JSON `{session, shell, replayed}`: the agent attached the stream to a session (first frame) */
  Hello: 5,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

const KNOWN = new Set<number>(Object.values(FrameType));

/** Data frames carry at most this many bytes (the agent splits PTY output to fit). */
export const MAX_DATA_PAYLOAD = 64 * 1024;
/** Every other frame type is small. */
export const MAX_CONTROL_PAYLOAD = 4 * 1024;
/** Bytes in a stream frame's header. */
export const STREAM_HEADER_BYTES = 5;

export interface Frame {
  type: FrameTypeValue;
  payload: Uint8Array;
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface ExitInfo {
  code: number | null;
  signal: number | null;
}

export interface HelloInfo {
  session: string;
  shell: string;
  /** bytes of earlier output replayed before live output */
  replayed: number;
}

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function maxPayloadOf(type: number): number {
  return type === FrameType.Data ? MAX_DATA_PAYLOAD : MAX_CONTROL_PAYLOAD;
}

function checkFrame(type: number, length: number): asserts type is FrameTypeValue {
  if (!KNOWN.has(type)) throw new FrameError(`unknown frame type ${type}`);
  const max = maxPayloadOf(type);
  if (length > max) throw new FrameError(`frame of type ${type} is ${length} bytes; the limit is ${max}`);
}

export function textPayload(text: string): Uint8Array {
  return encoder.encode(text);
}

export function jsonPayload(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function payloadText(payload: Uint8Array): string {
  return decoder.decode(payload);
}

/** The payload as JSON; a FrameError when it is not. */
export function payloadJson<T>(payload: Uint8Array): T {
  try {
    return JSON.parse(decoder.decode(payload)) as T;
  } catch {
    throw new FrameError('frame payload is not JSON');
  }
}

/** A Resize payload, checked: whole numbers of cells, 1..1000. */
export function parseSize(payload: Uint8Array): TerminalSize {
  const v = payloadJson<Partial<TerminalSize>>(payload);
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000;
  if (!v || !ok(v.cols) || !ok(v.rows)) throw new FrameError('resize needs {cols, rows}, whole numbers from 1 to 1000');
  return { cols: v.cols, rows: v.rows };
}

// ---- WebSocket messages: one frame each ----

export function encodeMessage(type: FrameTypeValue, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkFrame(type, payload.length);
  const out = new Uint8Array(1 + payload.length);
  out[0] = type;
  out.set(payload, 1);
  return out;
}

export function decodeMessage(message: Uint8Array): Frame {
  if (message.length === 0) throw new FrameError('empty message');
  const type = message[0]!;
  checkFrame(type, message.length - 1);
  return { type, payload: message.subarray(1) };
}

// ---- byte streams: length-prefixed frames ----

export function encodeStreamFrame(type: FrameTypeValue, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkFrame(type, payload.length);
  const out = new Uint8Array(STREAM_HEADER_BYTES + payload.length);
  out[0] = type;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(1, payload.length);
  out.set(payload, STREAM_HEADER_BYTES);
  return out;
}

/** Splits bytes into Data frames of at most MAX_DATA_PAYLOAD each. */
export function dataFrames(bytes: Uint8Array, encode: (type: FrameTypeValue, payload: Uint8Array) => Uint8Array = encodeStreamFrame): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += MAX_DATA_PAYLOAD) out.push(encode(FrameType.Data, bytes.subarray(at, at + MAX_DATA_PAYLOAD)));
  return out;
}

/** A copy of bytes [start, end): not `slice`, which on a Node Buffer returns a view of the same memory. */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

/**
 * Reassembles stream frames from chunks as they arrive. Buffers at most one frame (so at most
 * MAX_DATA_PAYLOAD + 5 bytes); a bad header throws FrameError before its payload is buffered.
 */
export class StreamFrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= STREAM_HEADER_BYTES) {
      const type = buf[at]!;
      const length = new DataView(buf.buffer, buf.byteOffset + at + 1, 4).getUint32(0);
      checkFrame(type, length);
      if (buf.length - at - STREAM_HEADER_BYTES < length) break;
      // copied: the caller may keep a payload after the chunk's memory is reused
      frames.push({ type, payload: copyOf(buf, at + STREAM_HEADER_BYTES, at + STREAM_HEADER_BYTES + length) });
      at += STREAM_HEADER_BYTES + length;
    }
    this.pending = at === buf.length ? new Uint8Array(0) : copyOf(buf, at, buf.length);
    return frames;
  }

  /** bytes of an incomplete frame waiting for the rest */
  get buffered(): number {
    return this.pending.length;
  }
}
