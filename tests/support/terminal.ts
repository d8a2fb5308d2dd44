/**
 * A terminal driven from a test through the typed client's TerminalConnection (the same attach
 * layer the web page uses), over a real WebSocket (`ws`) with a bearer token: collects the output
 * as text and waits for what it expects, never for a fixed time.
 */
import { WebSocket } from 'ws';
import { TerminalConnection, type ExitInfo, type HelloInfo, type TerminalStatus, type TerminalStatusDetail } from '../../client/terminal';
import { until } from './wait';

export interface TestTerminal {
  conn: TerminalConnection;
  /** everything received since the last Hello that replayed (ANSI sequences included) */
  text(): string;
  hellos: HelloInfo[];
  notices: string[];
  exit: ExitInfo | null;
  statuses: { status: TerminalStatus; detail: TerminalStatusDetail }[];
  /** waits until the output matches (after `from` characters) */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  /** waits until the connection reached this status */
  waitStatus(status: TerminalStatus, timeoutMs?: number): Promise<TerminalStatusDetail>;
  close(): void;
}

export function openTerminal(url: string, spaceId: string, token: string, opts: { session?: string; shell?: string; cols?: number; rows?: number; headers?: Record<string, string> } = {}): TestTerminal {
  const decoder = new TextDecoder();
  let out = '';
  const t: TestTerminal = {
    conn: null as unknown as TerminalConnection,
    text: () => out,
    hellos: [],
    notices: [],
    exit: null,
    statuses: [],
    waitFor: (re, timeoutMs = 15_000, from = 0) =>
      until(`terminal output matching ${re}`, () => out.slice(from).match(re), timeoutMs, 10).catch((e: Error) => {
        throw new Error(`${e.message}; output was: ${JSON.stringify(out.slice(-2000))}`);
      }),
    waitStatus: async (status, timeoutMs = 15_000) => {
      await until(`terminal status ${status}`, () => t.statuses.some((s) => s.status === status), timeoutMs, 10);
      return t.statuses.filter((s) => s.status === status).pop()!.detail;
    },
    close: () => t.conn.close(),
  };
  t.conn = new TerminalConnection({
    url,
    spaceId,
    cols: opts.cols ?? 100,
    rows: opts.rows ?? 30,
    ...(opts.session ? { session: opts.session } : {}),
    ...(opts.shell ? { shell: opts.shell } : {}),
    WebSocketImpl: WebSocket as never,
    headers: { Authorization: `Bearer ${token}`, ...opts.headers },
    onData: (bytes) => {
      out += decoder.decode(bytes, { stream: true });
    },
    onHello: (info) => {
      t.hellos.push(info);
      // the replay that follows repaints the screen
      if (info.replayed > 0) out = '';
    },
    onNotice: (text) => t.notices.push(text),
    onExit: (info) => {
      t.exit = info;
    },
    onStatus: (status, detail) => t.statuses.push({ status, detail }),
  });
  return t;
}
