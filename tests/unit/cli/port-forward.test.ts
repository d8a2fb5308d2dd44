/**
 * `knot forward port`'s two modes against stand-in servers on real sockets: a server of the raw
 * mode (link/raw-port.ts: 101 + the raw header, then bytes piped to the app) and a server from
 * before it (`ws` picking the first offered subprotocol, then WebSocket messages,
 * link/ws-pipe.ts): both carry many connections, a half-close and a large download; against the
 * old one the same socket carries on as a WebSocket (one connection to the app per stream, no
 * second dial); refusals show their problem's detail; an app that resets cuts the local connection.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { startPortForward, type PortForward } from '../../../cli/forward-port';
import { pipeRaw, PORT_SUBPROTOCOL_RAW, rawPortAnswer } from '../../../link/raw-port';
import { pipeOverWebSocket } from '../../../link/ws-pipe';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** Sends `data`, half-closes, and collects everything until the other side's end. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.on('end', () => resolve(Buffer.concat(got)));
    c.on('error', reject);
    c.end(data);
  });
}

describe('knot forward port against raw and WebSocket-only servers', () => {
  let echo: net.Server;
  let counter: net.Server;
  let source: net.Server;
  let resetter: net.Server;
  const ports: Record<string, number> = {};
  let appConnections = 0;
  const big = randomBytes(8 * 1024 * 1024 + 3);
  const servers: http.Server[] = [];
  const forwards: PortForward[] = [];

  beforeAll(async () => {
    echo = net.createServer({ allowHalfOpen: true }, (c) => c.on('error', () => {}).pipe(c));
    // answers only after the client's end: the half-close must cross and leave the way back open
    counter = net.createServer({ allowHalfOpen: true }, (c) => {
      let n = 0;
      c.on('error', () => {});
      c.on('data', (d: Buffer) => (n += d.length));
      c.on('end', () => c.end(`got ${n}`));
    });
    // a download: the app sends `big` at once and ends
    source = net.createServer((c) => c.on('error', () => {}).end(big));
    // a reset once the client's first bytes arrive
    resetter = net.createServer((c) => {
      c.on('error', () => {});
      c.once('data', () => c.resetAndDestroy());
    });
    for (const s of [echo, counter, source, resetter]) s.on('connection', () => appConnections++);
    ports.echo = await listen(echo);
    ports.counter = await listen(counter);
    ports.source = await listen(source);
    ports.resetter = await listen(resetter);
  });
  afterAll(async () => {
    for (const f of forwards) await f.close();
    for (const s of [...servers, echo, counter, source, resetter]) s.close();
  });

  const appPortOf = (url: string) => Number(/\/ports\/(\d+)\/stream$/.exec(new URL(url, 'http://x').pathname)?.[1]);

  /** A stand-in API: `mode` raw answers like this tree's server when raw is offered; `old` is `ws` as before. */
  async function server(mode: 'raw' | 'old'): Promise<string> {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
    const srv = http.createServer((_req, res) => res.writeHead(404).end());
    srv.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const port = appPortOf(req.url ?? '');
      if (port === 4040) {
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\nconnection: close\r\n\r\n{"detail":"port 4040 of space \'s\' is not offered"}');
        return;
      }
      // like the real server: the app connection first, then the upgrade
      const app = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      app.on('error', () => socket.destroy());
      app.once('connect', () => {
        const offered = String(req.headers['sec-websocket-protocol'] ?? '');
        if (mode === 'raw' && offered.includes(PORT_SUBPROTOCOL_RAW)) {
          socket.write(rawPortAnswer(String(req.headers['sec-websocket-key'])));
          pipeRaw(socket, app);
        } else wss.handleUpgrade(req, socket, head, (ws) => pipeOverWebSocket(ws, app));
      });
    });
    servers.push(srv);
    return `http://127.0.0.1:${await listen(srv)}`;
  }

  async function forward(url: string, port: number, opts: { raw?: boolean } = {}) {
    const kinds: string[] = [];
    const errors: string[] = [];
    const f = await startPortForward({ url, token: 't', space: 's', port, listen: { host: '127.0.0.1', port: 0 }, onError: (m) => errors.push(m), onStream: (k) => kinds.push(k), ...opts });
    forwards.push(f);
    return { port: f.address.port, kinds, errors };
  }

  it.each([
    ['raw', 'raw', undefined],
    ['old', 'websocket', undefined],
    ['raw', 'websocket', false],
  ] as const)('server %s → %s mode (raw offered: %s): 50 connections, a half-close, an 8 MB download, one app connection each', async (mode, kind, raw) => {
    const url = await server(mode);
    const opts = raw === undefined ? {} : { raw };
    const e = await forward(url, ports.echo!, opts);
    const before = appConnections;
    const payload = (i: number) => Buffer.alloc(64 * 1024 + i, i % 251);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => exchange(e.port, payload(i))));
    results.forEach((r, i) => expect(r.equals(payload(i))).toBe(true));
    expect(appConnections - before).toBe(50);
    expect(e.kinds).toEqual(Array(50).fill(kind));

    const c = await forward(url, ports.counter!, opts);
    expect((await exchange(c.port, Buffer.alloc(1234, 7))).toString()).toBe('got 1234');
    const s = await forward(url, ports.source!, opts);
    expect((await exchange(s.port, Buffer.alloc(0))).equals(big)).toBe(true);
    expect([...e.errors, ...c.errors, ...s.errors]).toEqual([]);
  });

  it.each(['raw', 'old'] as const)('server %s: a refusal shows its detail; an app that resets cuts the local connection', async (mode) => {
    const url = await server(mode);
    const refused = await forward(url, 4040);
    await new Promise<void>((resolve) => net.connect(refused.port, '127.0.0.1').on('error', () => {}).once('close', () => resolve()));
    expect(refused.errors).toEqual(["s:4040: port 4040 of space 's' is not offered"]);

    const r = await forward(url, ports.resetter!);
    // the local connection is closed although it never ended its own direction
    await new Promise<void>((resolve) => {
      const c = net.connect(r.port, '127.0.0.1');
      c.on('error', () => {});
      c.once('close', () => resolve());
      c.write('x');
    });
    expect(r.errors).toEqual([]);
  });
});
