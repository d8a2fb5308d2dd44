/**
 * Plain HTTP over pooled tunnels (api/agent-link/app-tunnels.ts), on real sockets: a front HTTP
 * server relays with relayPooled, links are HTTP/2 sessions over TCP to stand-in agents (or the
 * agent's own serveConnect), apps are real HTTP servers. What must hold: a pooled connection never
 * serves another link (space) even on the same port number, and goes with its link; an agent from
 * before the pooled tunnel is used once per tunnel and then relayed to the old way; a connection
 * the app dropped is retried once for a request without a body; streams keep streaming; the agent
 * counts a pooled tunnel's traffic as activity, never as a session.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import pino from 'pino';
import { AppTunnelPool, relayPooled } from '../../../api/agent-link/app-tunnels';
import { LinkStreams } from '../../../api/agent-link/link-streams';
import type { ProxyTarget } from '../../../api/agent-link/port-proxy';
import { serveConnect } from '../../../agent/port-tunnel';
import { POOLED_TUNNEL_HEADER, POOLED_TUNNEL_HTTP } from '../../../link/protocol';
import { until } from '../../support/wait';

const APP_PORT = 8080;

/** The server's side of a link, as the API's AgentLink is: an HTTP/2 client session to the agent. */
class TestLink extends LinkStreams {
  closed = false;
  constructor(
    readonly spaceId: string,
    private readonly session: http2.ClientHttp2Session,
  ) {
    super();
  }
  get isClosed(): boolean {
    return this.closed;
  }
  protected request(headers: http2.OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions): http2.ClientHttp2Stream {
    return this.session.request(headers, options);
  }
  end(): void {
    this.closed = true;
    this.closeSessions('gone');
    this.session.destroy();
  }
}

function listen(server: net.Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** A stand-in agent: CONNECTs to APP_PORT reach `appPort`; `echo` false plays an agent from before the pooled tunnel. */
async function standInAgent(appPort: number, echo: boolean) {
  const streams = { open: 0, closed: 0 };
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers[':method'] !== 'CONNECT' || headers[':authority'] !== `127.0.0.1:${APP_PORT}`) return stream.respond({ ':status': 404 }, { endStream: true });
    const socket = net.connect({ host: '127.0.0.1', port: appPort, allowHalfOpen: true });
    socket.on('error', () => stream.close(http2.constants.NGHTTP2_CONNECT_ERROR));
    socket.once('connect', () => {
      streams.open++;
      stream.once('close', () => {
        streams.closed++;
        socket.destroy();
      });
      stream.respond({ ':status': 200, ...(echo && headers[POOLED_TUNNEL_HEADER] === POOLED_TUNNEL_HTTP ? { [POOLED_TUNNEL_HEADER]: POOLED_TUNNEL_HTTP } : {}) });
      stream.pipe(socket);
      socket.pipe(stream);
    });
  });
  return { server, port: await listen(server), streams };
}

/** An app answering its name and how many connections it has accepted. */
async function namedApp(name: string) {
  const state = { connections: 0 };
  const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${name} ${state.connections}`));
  server.on('connection', () => state.connections++);
  return { server, port: await listen(server), state };
}

async function connectLink(spaceId: string, agentPort: number): Promise<TestLink> {
  const session = http2.connect(`http://127.0.0.1:${agentPort}`);
  session.on('error', () => {});
  await new Promise<void>((resolve) => session.once('connect', () => resolve()));
  return new TestLink(spaceId, session);
}

/** The API's front: `/<space>/...` relayed over that space's link's pool for APP_PORT. */
async function front(links: Map<string, LinkStreams>) {
  const server = http.createServer((req, res) => {
    const [, space, ...rest] = (req.url ?? '/').split('/');
    const link = links.get(space!)!;
    const t: ProxyTarget = { prefix: `/${space}`, path: `/${rest.join('/')}`, publicOrigin: 'http://knot.test', port: APP_PORT, stripAuthorization: true };
    relayPooled(req, res, AppTunnelPool.of(link, APP_PORT), t, (e) => res.writeHead(502).end(`refused: ${e.message}`));
  });
  return { server, port: await listen(server) };
}

function get(port: number, path: string, opts: { method?: string; body?: string; agent?: http.Agent } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: opts.agent ?? false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('pooled tunnels to web ports', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });
  const keep = <T extends { close(): unknown }>(x: T) => {
    closers.push(() => {
      if (x instanceof http.Server) x.closeAllConnections();
      x.close();
    });
    return x;
  };

  it('never reuses a connection across links on the same port number, and drops a pool with its link', async () => {
    const appA = await namedApp('A');
    const appB = await namedApp('B');
    keep(appA.server);
    keep(appB.server);
    const agentA = await standInAgent(appA.port, true);
    const agentB = await standInAgent(appB.port, true);
    keep(agentA.server);
    keep(agentB.server);
    const linkA = await connectLink('space-a', agentA.port);
    const linkB = await connectLink('space-b', agentB.port);
    closers.push(() => linkA.end(), () => linkB.end());
    const f = await front(new Map<string, LinkStreams>([['a', linkA], ['b', linkB]]));
    keep(f.server);
    const client = new http.Agent({ keepAlive: true, maxSockets: 8 });
    closers.push(() => client.destroy());

    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => get(f.port, i % 2 ? '/a/x' : '/b/x', { agent: client }).then((r) => ({ r, want: i % 2 ? 'A' : 'B' }))));
      for (const { r, want } of answers) expect([r.status, r.text.split(' ')[0]]).toEqual([200, want]);
    }
    expect(AppTunnelPool.of(linkA, APP_PORT)).not.toBe(AppTunnelPool.of(linkB, APP_PORT));
    expect(linkA.pooledTunnels).toBe(true);
    // 160 requests, 8 at a time per app at most: kept alive, not one connection each
    expect(appA.state.connections).toBeLessThanOrEqual(8);
    expect(appB.state.connections).toBeLessThanOrEqual(8);
    expect(agentA.streams.open).toBe(appA.state.connections);

    // link A ends: its pooled tunnels go with it, B's are untouched
    linkA.end();
    expect(linkA.appPools.size).toBe(0);
    await until('link A tunnels closed at the agent', () => agentA.streams.closed === agentA.streams.open);
    expect((await get(f.port, '/a/x')).status).toBe(502);
    const b = await get(f.port, '/b/x');
    expect(b.text.split(' ')[0]).toBe('B');
    expect(agentB.streams.closed).toBe(0);
  });

  it('uses an agent from before the pooled tunnel once per tunnel, then marks the link for the one-request relay', async () => {
    const app = await namedApp('old');
    keep(app.server);
    const agent = await standInAgent(app.port, false);
    keep(agent.server);
    const link = await connectLink('space-old', agent.port);
    closers.push(() => link.end());
    const f = await front(new Map<string, LinkStreams>([['o', link]]));
    keep(f.server);
    expect(await get(f.port, '/o/x')).toEqual({ status: 200, text: 'old 1' });
    expect(link.pooledTunnels).toBe(false);
    // not kept: the old agent counts an open tunnel as a session
    await until('the tunnel closed', () => agent.streams.closed === 1);
  });

  it('retries a request without a body once when the app dropped a pooled connection; never one with a body', async () => {
    // an app "restarted": connections from before are cut when they bring a request
    const stale = new WeakSet<net.Socket>();
    let attempts = 0;
    const app = http.createServer((req, res) => {
      attempts++;
      if (stale.has(req.socket)) req.socket.destroy();
      else req.on('data', () => {}).on('end', () => res.end('fresh'));
    });
    const sockets: net.Socket[] = [];
    app.on('connection', (socket: net.Socket) => sockets.push(socket));
    keep(app);
    const appPort = await listen(app);
    const agent = await standInAgent(appPort, true);
    keep(agent.server);
    const link = await connectLink('space-r', agent.port);
    closers.push(() => link.end());
    const f = await front(new Map<string, LinkStreams>([['r', link]]));
    keep(f.server);

    // several pooled connections, all dropped by the "restart": the retry must not take another dead one
    const warm = await Promise.all(Array.from({ length: 4 }, () => get(f.port, '/r/x')));
    expect(warm.map((w) => w.text)).toEqual(Array(4).fill('fresh'));
    expect(sockets.length).toBeGreaterThan(1);
    for (const socket of sockets) stale.add(socket);
    attempts = 0;
    expect(await get(f.port, '/r/x')).toEqual({ status: 200, text: 'fresh' });
    expect(attempts).toBe(2);

    // a POST on a connection the app drops is not sent again: its body was consumed
    for (const socket of sockets) stale.add(socket);
    attempts = 0;
    const post = await get(f.port, '/r/x', { method: 'POST', body: 'once' });
    expect(post.status).toBe(502);
    expect(attempts).toBe(1);
  });

  it('streams with the real agent tunnel: the first event before the end; a pooled tunnel is activity, not a session', async () => {
    let release: (() => void) | null = null;
    const app = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      release = () => res.end('data: last\n\n');
    });
    keep(app);
    const appPort = await listen(app);
    const counts = { activity: 0, sessions: 0 };
    const agentServer = http2.createServer();
    agentServer.on('stream', (stream, headers) => {
      // the agent's own CONNECT route, told APP_PORT is appPort (its dial is to loopback only)
      serveConnect(stream, { ...headers, ':authority': `127.0.0.1:${appPort}` }, {
        ownPorts: () => [],
        onActivity: () => counts.activity++,
        onCount: (d) => (counts.sessions += d),
        logger: pino({ level: 'silent' }),
      });
    });
    keep(agentServer);
    const link = await connectLink('space-s', await listen(agentServer));
    closers.push(() => link.end());
    const f = await front(new Map<string, LinkStreams>([['s', link]]));
    keep(f.server);

    const first = await new Promise<{ chunk: string; rest: Promise<string> }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: f.port, path: '/s/events', agent: false }, (res) => {
        res.setEncoding('utf8');
        let rest = '';
        const ended = new Promise<string>((done) => res.on('end', () => done(rest)));
        res.once('data', (c: string) => {
          res.on('data', (more: string) => (rest += more));
          resolve({ chunk: c, rest: ended });
        });
        res.on('error', reject);
      });
    });
    expect(first.chunk).toBe('data: first\n\n');
    expect(link.pooledTunnels).toBe(true);
    expect(counts.activity).toBeGreaterThan(0);
    await until('the app holds the stream', () => release !== null);
    release!();
    expect(await first.rest).toBe('data: last\n\n');
    // the tunnel stays pooled (open) and was never counted as a session
    expect(counts.sessions).toBe(0);
  });
});
