/**
 * The server's side of the agent link, just enough to test the agent without the knot server: a
 * WebSocket endpoint at LINK_PATH checking the bearer token, then an HTTP/2 *client* over the
 * WebSocket (roles reversed, as in link/protocol.ts), plus helpers to read terminal and state streams.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameType, StreamFrameDecoder, encodeStreamFrame, jsonPayload, payloadText, textPayload, type Frame, type FrameTypeValue } from '../../../link/frames';
import { webSocketCarrier } from '../../../link/ws-carrier';
import { AGENT_VERSION_HEADER, AgentRoute, LINK_PATH, LINK_SESSION_MEMORY_MB, LINK_SUBPROTOCOL, TerminalHeader, type AgentStateReport } from '../../../link/protocol';

/** Polls `cond` until true; fails after `timeoutMs` with `what`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

export interface AgentConnection {
  ws: WebSocket;
  h2: ClientHttp2Session;
  headers: IncomingHttpHeaders;
}

export class FakeKnotServer {
  readonly connections: AgentConnection[] = [];
  /** status codes of refused upgrades, in order */
  readonly refused: number[] = [];
  /** refuse the next n upgrades with this status */
  refuseNext: { count: number; status: number } = { count: 0, status: 401 };

  private wss!: WebSocketServer;

  private constructor(readonly token: string) {}

  static async start(token: string): Promise<FakeKnotServer> {
    const server = new FakeKnotServer(token);
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      path: LINK_PATH,
      handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
      verifyClient: (info, cb) => {
        if (server.refuseNext.count > 0) {
          server.refuseNext.count--;
          server.refused.push(server.refuseNext.status);
          return cb(false, server.refuseNext.status);
        }
        const ok = info.req.headers.authorization === `Bearer ${token}`;
        if (!ok) server.refused.push(401);
        cb(ok, 401);
      },
    });
    server.wss = wss;
    wss.on('connection', (ws, req) => {
      const h2 = http2.connect('http://agent', { createConnection: () => webSocketCarrier(ws), maxSessionMemory: LINK_SESSION_MEMORY_MB });
      h2.on('error', () => undefined);
      server.connections.push({ ws, h2, headers: req.headers });
    });
    await new Promise<void>((r) => (wss.address() ? r() : wss.once('listening', () => r())));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  /** the newest agent connection, waiting for one */
  async connection(index = 0): Promise<AgentConnection> {
    await until(() => this.connections.length > index, `agent connection #${index + 1}`);
    return this.connections[index]!;
  }

  async close(): Promise<void> {
    for (const c of this.connections) {
      if (!c.h2.destroyed) c.h2.destroy();
      c.ws.terminate();
    }
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

export function agentVersionOf(c: AgentConnection): string | undefined {
  return c.headers[AGENT_VERSION_HEADER] as string | undefined;
}

/** One terminal stream as the server sees it. */
export class TerminalClient {
  readonly frames: Frame[] = [];
  status: number | null = null;
  body = '';
  ended = false;
  closed = false;
  private readonly decoder = new StreamFrameDecoder();
  readonly stream: ClientHttp2Stream;

  constructor(h2: ClientHttp2Session, headers: Record<string, string>) {
    this.stream = h2.request({ ':method': 'POST', ':path': AgentRoute.terminal, ...headers });
    // data can be emitted before 'response': hold it until the status says how to read it
    const early: Buffer[] = [];
    const take = (chunk: Buffer) => {
      if (this.status === 200) this.frames.push(...this.decoder.push(chunk));
      else this.body += chunk.toString();
    };
    this.stream.on('response', (h) => {
      this.status = Number(h[':status']);
      early.splice(0).forEach(take);
    });
    this.stream.on('data', (chunk: Buffer) => (this.status === null ? early.push(chunk) : take(chunk)));
    this.stream.on('end', () => (this.ended = true));
    this.stream.on('close', () => (this.closed = true));
    this.stream.on('error', () => undefined);
  }

  static open(h2: ClientHttp2Session, session: string, opts: { shell?: string; cols?: number; rows?: number } = {}): TerminalClient {
    return new TerminalClient(h2, {
      [TerminalHeader.session]: session,
      [TerminalHeader.shell]: opts.shell ?? 'bash',
      [TerminalHeader.cols]: String(opts.cols ?? 80),
      [TerminalHeader.rows]: String(opts.rows ?? 24),
    });
  }

  /** all Data output so far, as text */
  get output(): string {
    return this.frames
      .filter((f) => f.type === FrameType.Data)
      .map((f) => payloadText(f.payload))
      .join('');
  }

  of(type: FrameTypeValue): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  send(type: FrameTypeValue, payload: Uint8Array): void {
    this.stream.write(encodeStreamFrame(type, payload));
  }

  type(text: string): void {
    this.send(FrameType.Data, textPayload(text));
  }

  resize(cols: number, rows: number): void {
    this.send(FrameType.Resize, jsonPayload({ cols, rows }));
  }

  async waitOutput(re: RegExp, what = String(re)): Promise<RegExpMatchArray> {
    await until(() => re.test(this.output), `${what} in the output; got ${JSON.stringify(this.output.slice(-400))}`);
    return this.output.match(re)!;
  }

  close(): void {
    this.stream.close();
  }
}

/** The state stream as the server sees it: every report line received. */
export class StateClient {
  readonly reports: AgentStateReport[] = [];
  status: number | null = null;
  private rest = '';
  readonly stream: ClientHttp2Stream;

  constructor(h2: ClientHttp2Session) {
    this.stream = h2.request({ ':method': 'GET', ':path': AgentRoute.state }, { endStream: true });
    this.stream.on('response', (h) => (this.status = Number(h[':status'])));
    this.stream.setEncoding('utf8');
    this.stream.on('data', (chunk: string) => {
      const lines = (this.rest + chunk).split('\n');
      this.rest = lines.pop()!;
      for (const l of lines) if (l) this.reports.push(JSON.parse(l) as AgentStateReport);
    });
    this.stream.on('error', () => undefined);
  }

  get latest(): AgentStateReport | undefined {
    return this.reports[this.reports.length - 1];
  }
}
