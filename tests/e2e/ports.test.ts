/**
 * Ports of a space through the server, with a real agent process (it runs on this machine, so an
 * app on this machine's 127.0.0.1 is "inside the space"): HTTP by path and by app host (with the
 * one-time code exchange), WebSockets with their Origin checked, the refusals, and
 * `knot forward port` carrying 100 concurrent connections and a half-close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startPortForward } from '../../cli/forward-port';
import { dialPortStream } from '../../cli/port-dial';
import { startAgentStack, type AgentStack } from '../support/agent-stack';
import { testSettings } from '../support/harness';
import { until } from '../support/wait';
import { CLI } from '../support/worker-process';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A raw HTTP request (fetch may not set Host). */
function request(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket's first echo, or the status of its refused upgrade. */
function wsEcho(url: string, headers: Record<string, string>): Promise<{ echo?: string; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('open', () => ws.send('ping-42'));
    ws.once('message', (m: Buffer) => {
      resolve({ echo: m.toString() });
      ws.close();
    });
    ws.once('error', () => resolve({ status: -1 }));
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

describe('ports of a space through the server', () => {
  let s: AgentStack;
  let id: string;
  let app: http.Server;
  let appPort: number;
  let echo: net.Server;
  let echoPort: number;
  let counter: net.Server;
  let counterPort: number;
  let api: URL;
  const cli: ChildProcess[] = [];
  let releaseEvents: (() => void) | null = null;
  /** TCP connections the app has accepted: the agent's keep-alive pool reuses them */
  let appConnections = 0;
  const bigBody = randomBytes(3 * 1024 * 1024 + 7);

  beforeAll(async () => {
    app = http.createServer((req, res) => {
      if (req.url === '/redirect') res.writeHead(302, { location: '/landed' }).end();
      else if (req.url === '/cookie') res.writeHead(200, { 'set-cookie': ['app=1; Path=/; HttpOnly', 'knot_session=evil; Path=/'] }).end('cookie');
      else if (req.url === '/empty') res.writeHead(204, { 'x-app': 'empty' }).end();
      else if (req.url === '/events') {
        // an event stream: the first event must reach the client while the app still holds the answer open
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write('data: first\n\n');
        releaseEvents = () => res.end('data: last\n\n');
      } else if (req.url === '/connections') res.writeHead(200, { 'content-type': 'text/plain' }).end(String(appConnections));
      else if (req.url === '/sha') {
        const hash = createHash('sha256');
        req.on('data', (c: Buffer) => hash.update(c));
        req.on('end', () => res.writeHead(200).end(hash.digest('hex')));
      } else if (req.url === '/big') res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bigBody.length }).end(req.method === 'HEAD' ? undefined : bigBody);
      else {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })));
      }
    });
    app.on('connection', () => appConnections++);
    const wss = new WebSocketServer({ server: app });
    wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
    appPort = await listen(app);
    // a connection cut when the agent stops is not a failure of the test
    echo = net.createServer((c) => c.on('error', () => {}).pipe(c));
    echoPort = await listen(echo);
    // answers only once the client has ended its side: a half-close must reach it and leave the way back open
    counter = net.createServer({ allowHalfOpen: true }, (c) => {
      c.on('error', () => {});
      let n = 0;
      c.on('data', (d: Buffer) => (n += d.length));
      c.on('end', () => c.end(`got ${n}`));
    });
    counterPort = await listen(counter);

    s = await startAgentStack('sqlite', { config: { KNOT_ENCRYPT: testSettings.encryptKey, KNOT_SERVER_WILDCARD_DOMAIN: '*.localhost' } });
    api = new URL(s.api.url);
    ({ id } = await s.runningSpace('ports'));
    // the agent scans every 5 s; HTTP is probed on the ports it finds
    await until(
      'the ports reported',
      async () => {
        const services = (await s.space(id)).status.agent.services as { ports?: number[]; httpPorts?: number[] };
        return [appPort, echoPort, counterPort].every((p) => services.ports?.includes(p)) && services.httpPorts?.includes(appPort) && !services.httpPorts.includes(echoPort);
      },
      30_000,
      200,
    );
  }, 120_000);
  afterAll(async () => {
    for (const c of cli) c.kill('SIGTERM');
    await s?.close();
    app?.close();
    echo?.close();
    counter?.close();
  });

  const prefix = () => `/spaces/alice/ports/ports/${appPort}`;

  it('serves an app by path: prefix stripped, redirects and cookies kept under it, knot credentials never forwarded', async () => {
    const bearer = { authorization: `Bearer ${s.alice}` };
    const r = await request(s.api.url, 'GET', `${prefix()}/echo?x=1`, { ...bearer, cookie: 'knot_session=aaaaaaaaaaaaaaaaaaaa; knot_csrf=c; app=1' });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.text) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/echo?x=1');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBe('app=1');
    expect(seen.headers['x-forwarded-prefix']).toBe(prefix());
    expect(seen.headers['x-forwarded-host']).toBe(api.host);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');

    const post = await request(s.api.url, 'POST', `${prefix()}/form`, { ...bearer, 'content-type': 'text/plain' }, 'hello');
    expect(JSON.parse(post.text)).toMatchObject({ method: 'POST', body: 'hello' });

    const moved = await request(s.api.url, 'GET', `${prefix()}/redirect`, bearer);
    expect(moved.status).toBe(302);
    expect(moved.headers.location).toBe(`${prefix()}/landed`);

    const cookie = await request(s.api.url, 'GET', `${prefix()}/cookie`, bearer);
    expect(cookie.headers['set-cookie']).toEqual([`app=1; Path=${prefix()}/; HttpOnly`]);

    const bare = await request(s.api.url, 'GET', prefix(), bearer);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe(`${prefix()}/`);
  });

  it('refuses a revoked token within the 1 s the API may remember a positive check (port-grants.ts)', async () => {
    const created = await s.api.client.as(s.alice).createToken({ name: 'short-lived' });
    const bearer = { authorization: `Bearer ${created.token}` };
    // checked once, remembered: the next requests within the second ride on that check
    expect((await request(s.api.url, 'GET', `${prefix()}/echo`, bearer)).status).toBe(200);
    expect((await request(s.api.url, 'GET', `${prefix()}/echo`, bearer)).status).toBe(200);
    await s.api.client.as(s.alice).revokeToken(created.id);
    const revokedAt = Date.now();
    await until('the revoked token to be refused', async () => ((await request(s.api.url, 'GET', `${prefix()}/echo`, bearer)).status === 401 ? true : null), 5_000, 50);
    expect(Date.now() - revokedAt).toBeLessThan(1_500);
    // and stays refused
    expect((await request(s.api.url, 'GET', `${prefix()}/echo`, bearer)).status).toBe(401);
  });

  it('relays bodies both ways in full, streams an event stream as it comes, answers HEAD and 204 without a body', async () => {
    const bearer = { authorization: `Bearer ${s.alice}` };
    const upload = randomBytes(5 * 1024 * 1024 + 3);
    const sha = await request(s.api.url, 'POST', `${prefix()}/sha`, { ...bearer, 'content-type': 'application/octet-stream' }, upload as unknown as string);
    expect(sha.text).toBe(createHash('sha256').update(upload).digest('hex'));

    const big = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: api.hostname, port: api.port, path: `${prefix()}/big`, headers: bearer, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      });
    });
    expect(big.equals(bigBody)).toBe(true);

    const head = await request(s.api.url, 'HEAD', `${prefix()}/big`, bearer);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(bigBody.length));
    expect(head.text).toBe('');
    const empty = await request(s.api.url, 'GET', `${prefix()}/empty`, bearer);
    expect([empty.status, empty.headers['x-app'], empty.text]).toEqual([204, 'empty', '']);

    // the first event arrives before the app ends its answer
    const first = await new Promise<{ type: string | undefined; chunk: string; rest: Promise<string> }>((resolve, reject) => {
      http.get({ host: api.hostname, port: api.port, path: `${prefix()}/events`, headers: bearer, agent: false }, (res) => {
        res.setEncoding('utf8');
        let rest = '';
        const ended = new Promise<string>((done) => res.on('end', () => done(rest)));
        res.once('data', (c: string) => {
          res.on('data', (more: string) => (rest += more));
          resolve({ type: res.headers['content-type'], chunk: c, rest: ended });
        });
        res.on('error', reject);
      });
    });
    expect(first.type).toBe('text/event-stream');
    expect(first.chunk).toBe('data: first\n\n');
    await until('the app holds the event stream', () => releaseEvents !== null);
    releaseEvents!();
    expect(await first.rest).toBe('data: last\n\n');
  });

  it('reuses the connections to the app: many requests, few TCP connections', async () => {
    const bearer = { authorization: `Bearer ${s.alice}` };
    const before = Number((await request(s.api.url, 'GET', `${prefix()}/connections`, bearer)).text);
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => request(s.api.url, 'GET', `${prefix()}/echo?n=${round}-${i}`, bearer)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    }
    const after = Number((await request(s.api.url, 'GET', `${prefix()}/connections`, bearer)).text);
    // 81 requests, at most 8 at once: a connection per request would be 81 new ones
    expect(after - before).toBeLessThanOrEqual(8);
  });

  it('keeps pooled tunnels per link and port, survives the app dropping them, and relays the old way for an agent without them', async () => {
    const bearer = { authorization: `Bearer ${s.alice}` };
    expect((await request(s.api.url, 'GET', `${prefix()}/echo`, bearer)).status).toBe(200);
    const link = s.api.links.get(id)!;
    expect(link.pooledTunnels).toBe(true);
    expect([...link.appPools.keys()]).toContain(appPort);
    // the app drops every connection (as a restart would): the pooled tunnels die, requests still answer
    app.closeAllConnections();
    const after = await Promise.all(Array.from({ length: 8 }, (_, i) => request(s.api.url, 'GET', `${prefix()}/echo?after=${i}`, bearer)));
    expect(after.map((a) => a.status)).toEqual(Array(8).fill(200));
    // an agent from before pooled tunnels: one HTTP/2 request per app request, the same rewrites
    link.pooledTunnels = false;
    try {
      const r = await request(s.api.url, 'GET', `${prefix()}/echo?old=1`, { ...bearer, cookie: 'knot_session=aaaaaaaaaaaaaaaaaaaa; app=2' });
      const seen = JSON.parse(r.text) as { url: string; headers: Record<string, string> };
      expect([r.status, seen.url, seen.headers.cookie, seen.headers.authorization, seen.headers['x-forwarded-prefix']]).toEqual([200, '/echo?old=1', 'app=2', undefined, prefix()]);
    } finally {
      link.pooledTunnels = true;
    }
  });

  it('passes WebSockets by path with this server as Origin, and refuses another Origin', async () => {
    const url = `ws://${api.host}${prefix()}/ws`;
    expect(await wsEcho(url, { authorization: `Bearer ${s.alice}`, origin: api.origin })).toEqual({ echo: 'ping-42' });
    expect(await wsEcho(url, { authorization: `Bearer ${s.alice}`, origin: 'http://evil.example' })).toEqual({ status: 403 });
    expect(await wsEcho(url, { origin: api.origin })).toEqual({ status: 401 });
  });

  it('refuses strangers (401), other users (404), ports the agent did not report (404)', async () => {
    expect((await request(s.api.url, 'GET', `${prefix()}/`)).status).toBe(401);
    const bob = await request(s.api.url, 'GET', `${prefix()}/`, { authorization: `Bearer ${s.bob}` });
    expect(bob.status).toBe(404);
    expect(bob.headers['content-type']).toContain('application/problem+json');
    const closed = await request(s.api.url, 'GET', `/spaces/alice/ports/ports/1/`, { authorization: `Bearer ${s.alice}` });
    expect(closed.status).toBe(404);
    expect(JSON.parse(closed.text).detail).toContain('port 1');
    const audit = await s.api.client.listAudit({ action: 'port.http' } as never);
    expect(audit.items.some((e: { actor: string; outcome: string }) => e.actor === 'bob' && e.outcome === 'refused')).toBe(true);
  });

  it('serves an app host after the one-time code exchange, with a host-only cookie of its own', async () => {
    const host = `alice--ports--${appPort}.localhost:${api.port}`;
    const first = await request(s.api.url, 'GET', '/page?q=1', { host });
    expect(first.status).toBe(302);
    const authorize = new URL(first.headers.location!);
    expect(authorize.pathname).toBe('/api/v1/ports/authorize');
    expect(authorize.searchParams.get('host')).toBe(host);
    expect(authorize.searchParams.get('path')).toBe('/page?q=1');

    // bob may not authorize himself for alice's app
    expect((await request(s.api.url, 'GET', `${authorize.pathname}${authorize.search}`, { authorization: `Bearer ${s.bob}` })).status).toBe(404);
    const granted = await request(s.api.url, 'GET', `${authorize.pathname}${authorize.search}`, { authorization: `Bearer ${s.alice}` });
    expect(granted.status).toBe(302);
    const back = new URL(granted.headers.location!);
    expect(back.host).toBe(host);
    expect(back.pathname).toBe('/__knot/session');

    const exchanged = await request(s.api.url, 'GET', `${back.pathname}${back.search}`, { host });
    expect(exchanged.status).toBe(302);
    expect(exchanged.headers.location).toBe('/page?q=1');
    const setCookie = exchanged.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(/^knot_port_session=[A-Za-z0-9_-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const cookie = setCookie.split(';')[0]!;
    // one use only
    expect((await request(s.api.url, 'GET', `${back.pathname}${back.search}`, { host })).status).toBe(401);

    const page = await request(s.api.url, 'GET', '/page?q=1', { host, cookie: `${cookie}; app=2` });
    expect(page.status).toBe(200);
    const seen = JSON.parse(page.text) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/page?q=1');
    expect(seen.headers.cookie).toBe('app=2');
    expect(seen.headers['x-forwarded-host']).toBe(host);
    expect(seen.headers['x-forwarded-prefix']).toBeUndefined();

    // the cookie is this host's only
    expect((await request(s.api.url, 'GET', '/', { host: `alice--ports--${echoPort}.localhost:${api.port}`, cookie })).status).toBe(302);
    // a state change with the cookie needs the app's own Origin
    expect((await request(s.api.url, 'POST', '/x', { host, cookie }, 'a')).status).toBe(403);
    expect((await request(s.api.url, 'POST', '/x', { host, cookie, origin: `http://alice--ports--1.localhost:${api.port}` }, 'a')).status).toBe(403);
    expect((await request(s.api.url, 'POST', '/x', { host, cookie, origin: `http://${host}` }, 'a')).status).toBe(200);

    const wsUrl = `ws://${api.host}/ws`;
    expect(await wsEcho(wsUrl, { host, cookie, origin: `http://${host}` })).toEqual({ echo: 'ping-42' });
    expect(await wsEcho(wsUrl, { host, cookie, origin: api.origin })).toEqual({ status: 403 });
    // a stranger without a cookie: 401 for what cannot be redirected
    expect((await request(s.api.url, 'POST', '/x', { host }, 'a')).status).toBe(401);
  });

  it('knot forward port: 100 concurrent connections of 64 KiB each, and a half-close', async () => {
    const run = (port: number) => {
      const child = spawn(process.execPath, [CLI, 'forward', 'port', '0', 'ports', String(port)], {
        env: { ...process.env, KNOT_URL: s.api.url, KNOT_TOKEN: s.alice, XDG_CONFIG_HOME: '/nonexistent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      cli.push(child);
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      return until(`forward port ${port} listening`, () => /forwarding 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 15_000).then(Number);
    };
    const local = await run(echoPort);
    const payload = (i: number) => Buffer.alloc(64 * 1024, i % 251);
    const roundTrip = (i: number) =>
      new Promise<Buffer>((resolve, reject) => {
        const c = net.connect(local, '127.0.0.1');
        const got: Buffer[] = [];
        c.on('data', (d: Buffer) => got.push(d));
        c.on('end', () => resolve(Buffer.concat(got)));
        c.on('error', reject);
        c.end(payload(i));
      });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => roundTrip(i)));
    results.forEach((r, i) => expect(r.equals(payload(i))).toBe(true));

    const countLocal = await run(counterPort);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect(countLocal, '127.0.0.1');
      let text = '';
      c.on('data', (d: Buffer) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
      c.write(Buffer.alloc(1000, 1));
      c.end(Buffer.alloc(234, 2));
    });
    expect(reply).toBe('got 1234');

    const audit = await s.api.client.listAudit({ action: 'port.forward' } as never);
    expect(audit.items.some((e: { resourceId: string | null; actor: string }) => e.resourceId === id && e.actor === 'alice')).toBe(true);
  }, 60_000);

  it("this tree's forward (raw mode on the upgraded socket; WebSocket when asked): 100 connections, a half-close, 8 MB back", async () => {
    const round = async (raw: boolean) => {
      const kinds: string[] = [];
      const errors: string[] = [];
      const fwd = (port: number) => startPortForward({ url: s.api.url, token: s.alice, space: 'ports', port, listen: { host: '127.0.0.1', port: 0 }, raw, onError: (m) => errors.push(m), onStream: (k) => kinds.push(k) });
      const e = await fwd(echoPort);
      const c = await fwd(counterPort);
      try {
        const exchange = (port: number, data: Buffer) =>
          new Promise<Buffer>((resolve, reject) => {
            const sock = net.connect(port, '127.0.0.1');
            const got: Buffer[] = [];
            sock.on('data', (d: Buffer) => got.push(d));
            sock.on('end', () => resolve(Buffer.concat(got)));
            sock.on('error', reject);
            sock.end(data);
          });
        const payload = (i: number) => Buffer.alloc(64 * 1024 + i, i % 251);
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => exchange(e.address.port, payload(i))));
        results.forEach((r, i) => expect(r.equals(payload(i))).toBe(true));
        const bigEcho = randomBytes(8 * 1024 * 1024);
        expect((await exchange(e.address.port, bigEcho)).equals(bigEcho)).toBe(true);
        expect((await exchange(c.address.port, Buffer.alloc(1234, 1))).toString()).toBe('got 1234');
        expect(errors).toEqual([]);
        return kinds;
      } finally {
        await e.close();
        await c.close();
      }
    };
    expect(new Set(await round(true))).toEqual(new Set(['raw']));
    expect(new Set(await round(false))).toEqual(new Set(['websocket']));

    // refusals come before any upgrade, the same in both modes
    const base = s.api.url.replace(/^http/, 'ws');
    const refusal = (path: string, token: string) =>
      dialPortStream(`${base}${path}`, { authorization: `Bearer ${token}` }, { raw: true, timeoutMs: 10_000 }).result.then(
        () => 0,
        (err: { status?: number }) => err.status,
      );
    expect(await refusal(`/api/v1/spaces/${id}/ports/${echoPort}/stream`, 'nope')).toBe(401);
    expect(await refusal(`/api/v1/spaces/${id}/ports/1/stream`, s.alice)).toBe(404);
    expect(await refusal(`/api/v1/spaces/${id}/ports/${echoPort}/stream`, s.bob)).toBe(404);
  }, 60_000);
});
