/**
 * The terminal attach layer: one WebSocket to `/api/v1/spaces/:id/terminal` carrying typed binary
 * frames (link/frames.ts), for the browser and for Node (tests, bench). Not xterm's AttachAddon: that
 * one sends keystrokes as text frames and has no resize, no reconnect and no typed frames.
 *
 * The session id is the client's: a dropped connection is reopened with the same id, and the server
 * replays the session's recent output after a Hello frame (`replayed` bytes), so the caller clears
 * its screen on a Hello with `replayed > 0` and nothing is shown twice.
 */
import { dataFrames, decodeMessage, encodeMessage, FrameError, FrameType, jsonPayload, payloadJson, payloadText, type ExitInfo, type HelloInfo } from '../link/frames';
import { TERMINAL_SESSION_ID, terminalPath } from '../link/protocol';

export type { ExitInfo, HelloInfo } from '../link/frames';

/**
 * WebSocket close codes of the terminal route (api/agent-link/terminal-bridge.ts). A refusal after
 * the upgrade is 4000 + the HTTP status, since a page never sees the status of a refused upgrade.
 */
export const TerminalCloseCode = {
  /** normal end: the shell exited (after an Exit frame) or the session was closed */
  Normal: 1000,
  BadFrame: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  /** the space does not exist or is not the caller's */
  NotFound: 4404,
  /** the space is not running */
  NotRunning: 4409,
  /** the space's agent is not linked (yet, or any more): worth retrying */
  AgentNotConnected: 4503,
} as const;

export type TerminalStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why a connection ended for good; `retry` means it did not (a network drop or a missing agent). */
export type TerminalCloseKind = 'exit' | 'ended' | 'not-found' | 'not-running' | 'unauthorized' | 'bad-frame' | 'refused' | 'client' | 'retry';

export interface TerminalStatusDetail {
  /** reconnecting: which attempt is next (1, 2, …) and in how long */
  attempt?: number;
  delayMs?: number;
  /** the close code and reason of the connection that just ended */
  code?: number;
  reason?: string;
  /** closed: why, for good */
  kind?: TerminalCloseKind;
  /** the text of an Error frame the server sent before closing */
  error?: string;
}

/** What `new WebSocketImpl(url, protocols, { headers })` gives; the browser's WebSocket and `ws` both fit. */
interface SocketLike {
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** The browser's WebSocket, or the `ws` package's in Node (which also takes `headers`). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) => object;

export interface TerminalConnectionOptions {
  /** the server's base URL (http(s) or ws(s)); in the browser, location.origin */
  url: string;
  spaceId: string;
  /** the session to attach to (created when new); default: a new id */
  session?: string;
  /** bash, sh, zsh or fish; the server falls back to the space's shell when absent */
  shell?: string;
  cols: number;
  rows: number;
  /** default: globalThis.WebSocket (the browser's; Node 20 has none: pass `ws`) */
  WebSocketImpl?: WebSocketConstructor;
  /** Node only (browsers cannot set handshake headers; they send the session cookie): e.g. Authorization */
  headers?: Record<string, string>;
  onData?: (bytes: Uint8Array) => void;
  /** the session is attached; when `replayed > 0`, clear the screen: the replay follows */
  onHello?: (info: HelloInfo) => void;
  onNotice?: (text: string) => void;
  onExit?: (info: ExitInfo) => void;
  onStatus?: (status: TerminalStatus, detail: TerminalStatusDetail) => void;
}

/** The first reconnect waits 1 s, then 2, 4, 8, capped at 15 s. */
export const RECONNECT_BASE_MS = 1000;
export const RECONNECT_MAX_MS = 15_000;
/** Keystrokes typed while disconnected are kept up to this many bytes and sent once attached. */
export const MAX_PENDING_INPUT = 64 * 1024;

/** The delay before reconnect attempt `attempt` (1-based). */
export function backoffDelay(attempt: number): number {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(RECONNECT_BASE_MS * 2 ** Math.min(n - 1, 30), RECONNECT_MAX_MS);
}

/** What a close code means for the connection: end for good, or reconnect. */
export function classifyClose(code: number, exited: boolean): TerminalCloseKind {
  if (exited) return 'exit';
  switch (code) {
    case TerminalCloseCode.Normal:
      return 'ended';
    case TerminalCloseCode.NotFound:
      return 'not-found';
    case TerminalCloseCode.NotRunning:
      return 'not-running';
    case TerminalCloseCode.Unauthorized:
    case TerminalCloseCode.Forbidden:
      return 'unauthorized';
    // a bad frame is a bug on one side: reconnecting would only repeat it
    case TerminalCloseCode.BadFrame:
      return 'bad-frame';
    default:
      // another 4xx refusal (a bad shell or size, …) is as final; a timeout or a rate limit is not
      if (code >= 4400 && code < 4500 && code !== 4408 && code !== 4429) return 'refused';
      // 1001 (server going away), 1006 (network), 1011, 4503 (agent not linked yet), …
      return 'retry';
  }
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A new session id: 16 characters from crypto.getRandomValues (96 bits). Not randomUUID: a page on
 * plain http at a non-localhost address is not a secure context and has no randomUUID.
 */
export function newTerminalSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // 64 symbols: each byte's low 6 bits pick one without bias
  return Array.from(bytes, (b) => ID_ALPHABET[b & 63]).join('');
}

export interface TerminalUrlParams {
  session: string;
  shell?: string | undefined;
  cols: number;
  rows: number;
}

/** `ws(s)://host[/prefix]/api/v1/spaces/:id/terminal?session=…&shell=…&cols=…&rows=…` */
export function terminalUrl(base: string, spaceId: string, p: TerminalUrlParams): string {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`a terminal needs an http(s) or ws(s) server URL, not ${base}`);
  u.pathname = u.pathname.replace(/\/+$/, '') + terminalPath(spaceId);
  const q = new URLSearchParams({ session: p.session });
  if (p.shell) q.set('shell', p.shell);
  q.set('cols', String(p.cols));
  q.set('rows', String(p.rows));
  u.search = q.toString();
  u.hash = '';
  return u.toString();
}

function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

const encoder = new TextEncoder();

export class TerminalConnection {
  readonly spaceId: string;
  readonly session: string;
  private readonly opts: TerminalConnectionOptions;
  private socket: SocketLike | null = null;
  private cols: number;
  private rows: number;
  /** the size the current socket's URL announced (a resize before Hello is sent after it) */
  private announced = { cols: 0, rows: 0 };
  private attached = false;
  private exited = false;
  private stopped = false;
  /** consecutive connections that ended without attaching */
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private lastError: string | undefined;
  private current: TerminalStatus = 'connecting';

  constructor(opts: TerminalConnectionOptions) {
    this.opts = opts;
    this.spaceId = opts.spaceId;
    this.session = opts.session ?? newTerminalSessionId();
    if (!TERMINAL_SESSION_ID.test(this.session)) throw new Error(`session id ${JSON.stringify(this.session)} is not 8-64 of A-Z a-z 0-9 _ -`);
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.connect();
  }

  get status(): TerminalStatus {
    return this.current;
  }

  /** Keystrokes (UTF-8 text) or raw bytes; kept while reconnecting, dropped once closed. */
  send(input: string | Uint8Array): void {
    if (this.stopped) return;
    const bytes = typeof input === 'string' ? encoder.encode(input) : input;
    if (bytes.length === 0) return;
    if (this.attached && this.socket) {
      for (const m of dataFrames(bytes, encodeMessage)) this.socket.send(m);
      return;
    }
    if (this.pendingBytes + bytes.length > MAX_PENDING_INPUT) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
  }

  resize(cols: number, rows: number): void {
    if (cols === this.cols && rows === this.rows) return;
    this.cols = cols;
    this.rows = rows;
    if (this.attached && this.socket) this.sendResize();
  }

  /** Ends this connection for good (the session itself lives on the server until it times out). */
  close(): void {
    if (this.stopped) return;
    this.finish({ kind: 'client' });
    const s = this.socket;
    this.socket = null;
    s?.close(1000, 'closed by the client');
  }

  private setStatus(status: TerminalStatus, detail: TerminalStatusDetail): void {
    this.current = status;
    this.opts.onStatus?.(status, detail);
  }

  private finish(detail: TerminalStatusDetail): void {
    this.stopped = true;
    this.attached = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.setStatus('closed', detail);
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    if (this.failures === 0) this.setStatus('connecting', {});
    const Impl = this.opts.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    let socket: SocketLike;
    try {
      if (!Impl) throw new Error('no WebSocket here: pass WebSocketImpl (e.g. the ws package in Node 20)');
      const url = terminalUrl(this.opts.url, this.spaceId, { session: this.session, shell: this.opts.shell, cols: this.cols, rows: this.rows });
      socket = (this.opts.headers ? new Impl(url, undefined, { headers: this.opts.headers }) : new Impl(url)) as SocketLike;
    } catch (e) {
      // a bad URL or a missing WebSocket will not get better by retrying
      this.finish({ kind: 'client', reason: (e as Error).message });
      return;
    }
    this.socket = socket;
    this.announced = { cols: this.cols, rows: this.rows };
    this.attached = false;
    this.lastError = undefined;
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(ev.data);
    };
    socket.onclose = (ev) => {
      if (this.socket === socket) this.closed(ev.code, ev.reason);
    };
    // an error is always followed by a close, which decides what happens next
    socket.onerror = () => undefined;
  }

  private receive(data: unknown): void {
    const bytes = bytesOf(data);
    if (!bytes) return this.badFrame('a text message (the terminal speaks binary frames)');
    let frame;
    try {
      frame = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof FrameError) return this.badFrame(e.message);
      throw e;
    }
    try {
      switch (frame.type) {
        case FrameType.Data:
          this.opts.onData?.(frame.payload);
          return;
        case FrameType.Hello:
          return this.hello(payloadJson<HelloInfo>(frame.payload));
        case FrameType.Notice:
          this.opts.onNotice?.(payloadText(frame.payload));
          return;
        case FrameType.Exit:
          this.exited = true;
          this.opts.onExit?.(payloadJson<ExitInfo>(frame.payload));
          return;
        case FrameType.Error:
          this.lastError = payloadText(frame.payload);
          return;
        default:
          // Resize goes to the PTY only; a server that sends one is confused but harmless
          return;
      }
    } catch (e) {
      if (e instanceof FrameError) return this.badFrame(e.message);
      throw e;
    }
  }

  private hello(info: HelloInfo): void {
    this.attached = true;
    this.failures = 0;
    this.opts.onHello?.(info);
    this.setStatus('open', {});
    if (this.cols !== this.announced.cols || this.rows !== this.announced.rows) this.sendResize();
    const queued = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const b of queued) this.send(b);
  }

  private sendResize(): void {
    this.socket?.send(encodeMessage(FrameType.Resize, jsonPayload({ cols: this.cols, rows: this.rows })));
    this.announced = { cols: this.cols, rows: this.rows };
  }

  private badFrame(why: string): void {
    const s = this.socket;
    this.socket = null;
    this.finish({ kind: 'bad-frame', code: TerminalCloseCode.BadFrame, reason: why });
    s?.close(TerminalCloseCode.BadFrame, why.slice(0, 120));
  }

  private closed(code: number, reason: string): void {
    this.socket = null;
    this.attached = false;
    const kind = classifyClose(code, this.exited);
    const error = this.lastError;
    if (kind !== 'retry') {
      this.finish({ kind, code, reason, ...(error ? { error } : {}) });
      return;
    }
    this.failures++;
    const delayMs = backoffDelay(this.failures);
    this.setStatus('reconnecting', { attempt: this.failures, delayMs, code, reason, ...(error ? { error } : {}) });
    this.timer = setTimeout(() => this.connect(), delayMs);
  }
}
