/**
 * Two API replicas on one store, a real agent linked to the first: a terminal, an SSH stream, a
 * port stream and a web port by path opened through the *second* reach the agent through the
 * replica holding its link (api/agent-link/replica-*.ts), with the second checking the caller
 * exactly as for a local link. The relay endpoint itself refuses anyone but a replica. When the
 * holder goes away, what rode it closes with 4503.
 */
import http from 'node:http';
import net from 'node:net';
import { Client as SshClient, utils } from 'ssh2';
import { WebSocket, createWebSocketStream } from 'ws';
import { dialPortStream } from '../../cli/port-dial';
import { terminalPath } from '../../link/protocol';
import { newTerminalSessionId } from '../../client/terminal';
import { REPLICA_LINK_PATH, REPLICA_SUBPROTOCOL, replicaCredential } from '../../api/agent-link/replica-protocol';
import type { Harness as Api } from '../integration/api/harness';
import { startAgentStack, type AgentStack } from '../support/agent-stack';
import { testSettings } from '../support/harness';
import { openTerminal } from '../support/terminal';
import { until } from '../support/wait';

/** A raw WebSocket: the status of a refused upgrade, else it opens; `closed` is its close. */
function rawWs(url: string, headers: Record<string, string>, protocol?: string) {
  const ws = new WebSocket(url, protocol, { headers });
  ws.on('error', () => {});
  const refused = new Promise<number>((resolve) =>
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    }),
  );
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(Buffer.from(data)));
  return { ws, refused, opened, closed, text: () => Buffer.concat(received).toString('latin1') };
}

function get(base: string, path: string, token: string | null, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const req = http.request({ host: u.hostname, port: u.port, method: 'GET', path, headers: { ...auth, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sessions through a replica that does not hold the link', () => {
  let s: AgentStack;
  let other: Api;
  let id: string;
  let echo: net.Server;
  let echoPort: number;
  let web: http.Server;
  let webPort: number;
  const ws = (api: Api) => api.url.replace(/^http/, 'ws');

  beforeAll(async () => {
    echo = net.createServer((c) => c.on('error', () => {}).pipe(c));
    echoPort = await new Promise<number>((r) => echo.listen(0, '127.0.0.1', () => r((echo.address() as net.AddressInfo).port)));
    web = http.createServer((req, res) => res.end(`served ${req.url} to ${req.headers['x-forwarded-host'] ?? '?'}`));
    webPort = await new Promise<number>((r) => web.listen(0, '127.0.0.1', () => r((web.address() as net.AddressInfo).port)));
    s = await startAgentStack('sqlite', { config: { KNOT_ENCRYPT: testSettings.encryptKey, KNOT_SERVER_WILDCARD_DOMAIN: '*.localhost' } });
    other = await s.replicaApi();
    // the seed job sets KNOT_SSH_PORT=22: blank it, so the agent's own SSH server answers
    const started = await s.startedSpace('relayed');
    id = started.id;
    s.spawnAgent(started.env, { KNOT_SSH_PORT: '' });
    await s.agentState(id, 'connected');
    await until(
      'the terminal, SSH and both ports reported',
      async () => {
        const services = (await s.space(id)).status.agent.services as { terminal?: boolean; ssh?: boolean; ports?: number[] };
        return services.terminal === true && services.ssh === true && [echoPort, webPort].every((p) => services.ports?.includes(p));
      },
      30_000,
      100,
    );
    // the link is the first API's, not the second's
    expect(s.api.links.get(id)).toBeDefined();
    expect(other.links.get(id)).toBeUndefined();
  }, 180_000);

  afterAll(async () => {
    await s?.close();
    echo?.close();
    web?.close();
  });

  it('opens a terminal through the other replica: the same shell as through the holder', async () => {
    const session = newTerminalSessionId();
    const there = openTerminal(ws(other), id, s.alice, { session });
    await there.waitStatus('open');
    there.conn.send('echo relayed-$((40+2)) pid=$$\n');
    const [, pid] = await there.waitFor(/relayed-42 pid=(\d+)/);
    there.close();
    // the same session through the holder: the same shell
    const here = openTerminal(ws(s.api), id, s.alice, { session });
    await here.waitStatus('open');
    here.conn.send('echo again pid=$$\n');
    await here.waitFor(new RegExp(`again pid=${pid}`));
    here.close();
  });

  it('relays SSH bytes and a forwarded port both ways, and a web port by path', async () => {
    const ssh = rawWs(`${ws(other)}/api/v1/spaces/${id}/ssh/stream`, { authorization: `Bearer ${s.alice}` });
    await ssh.opened;
    ssh.ws.send(Buffer.from('SSH-2.0-relay-test\r\n'));
    await until('the agent SSH server banner', () => /^SSH-2\.0-/.test(ssh.text()), 15_000, 10);
    ssh.ws.close();

    const port = rawWs(`${ws(other)}/api/v1/spaces/${id}/ports/${echoPort}/stream`, { authorization: `Bearer ${s.alice}` });
    await port.opened;
    port.ws.send(Buffer.from('echo through two replicas'));
    await until('the echo', () => port.text() === 'echo through two replicas', 15_000, 10);
    port.ws.close();

    // `knot forward port`'s raw mode through the second replica: the echo, then a half-close crosses both
    const raw = await dialPortStream(`${ws(other)}/api/v1/spaces/${id}/ports/${echoPort}/stream`, { authorization: `Bearer ${s.alice}` }, { raw: true, timeoutMs: 15_000 }).result;
    if (raw.kind !== 'raw') throw new Error(`expected the raw mode, got ${raw.kind}`);
    const echoed = await new Promise<string>((resolve, reject) => {
      let text = '';
      raw.socket.on('data', (d: Buffer) => (text += d.toString()));
      raw.socket.on('end', () => resolve(text));
      raw.socket.on('error', reject);
      raw.socket.end('raw through two replicas');
    });
    expect(echoed).toBe('raw through two replicas');

    const page = await get(other.url, `/spaces/alice/relayed/ports/${webPort}/hello?x=1`, s.alice);
    expect(page.status).toBe(200);
    expect(page.body).toBe(`served /hello?x=1 to ${new URL(other.url).host}`);
  });

  it('an SSH key added through the other replica reaches the agent linked to the first, and SSH through either logs in with it', async () => {
    const keys = utils.generateKeyPairSync('ed25519');
    const login = (api: Api) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(`${ws(api)}/api/v1/spaces/${id}/ssh/stream`, { headers: { authorization: `Bearer ${s.alice}` } });
        socket.on('error', () => resolve('socket error'));
        socket.once('open', () => {
          const client = new SshClient();
          client.on('ready', () => {
            client.end();
            resolve('ready');
          });
          client.on('error', (e) => resolve(e.message));
          client.connect({ sock: createWebSocketStream(socket) as never, username: 'alice', privateKey: keys.private, readyTimeout: 10_000 });
        });
      });
    expect(await login(other)).toMatch(/authentication/i);
    // added on the replica that does not hold the link: the key travels as a space.ssh_keys event
    await other.client.as(s.alice).addSshKey({ publicKey: keys.public });
    await until('a login with the new key through the other replica', async () => (await login(other)) === 'ready', 15_000, 200);
    expect(await login(s.api)).toBe('ready');
  });

  it('signs a browser in to an app host on one replica and serves it from either (the grant is sealed, not kept)', async () => {
    // behind a load balancer every replica sees the same Host
    const host = `alice--relayed--${webPort}.localhost:${new URL(s.api.url).port}`;
    const first = await get(s.api.url, '/page', null, { host });
    expect(first.status).toBe(302);
    const authorize = new URL(first.headers.location!);
    const granted = await get(s.api.url, `${authorize.pathname}${authorize.search}`, s.alice);
    expect(granted.status).toBe(302);
    const back = new URL(granted.headers.location!);
    // the code is traded on the other replica
    const exchanged = await get(other.url, `${back.pathname}${back.search}`, null, { host });
    expect(exchanged.status).toBe(302);
    const cookie = String(exchanged.headers['set-cookie']![0]).split(';')[0]!;
    expect(cookie).toMatch(/^knot_port_session=[A-Za-z0-9_-]+$/);
    expect((await get(other.url, `${back.pathname}${back.search}`, null, { host })).status).toBe(401);
    for (const api of [other, s.api]) {
      const page = await get(api.url, '/page', null, { host, cookie });
      expect(page).toMatchObject({ status: 200, body: `served /page to ${host}` });
    }
    // a tampered grant is a stranger's
    // a character in the middle of the sealed value (the last one may carry only padding bits)
    const at = Math.floor(cookie.length * 0.6);
    const tampered = cookie.slice(0, at) + (cookie[at] === 'A' ? 'B' : 'A') + cookie.slice(at + 1);
    expect((await get(other.url, '/page', null, { host, cookie: tampered })).status).toBe(302);
  });

  it('checks the caller on the replica it reached: a stranger gets what it gets from the holder', async () => {
    const stranger = rawWs(`${ws(other)}${terminalPath(id)}?session=${newTerminalSessionId()}`, { authorization: `Bearer ${s.bob}` });
    expect((await stranger.closed).code).toBe(4404);
    expect((await get(other.url, `/spaces/alice/relayed/ports/${webPort}/`, s.bob)).status).toBe(404);
    const forged = rawWs(`${ws(other)}/api/v1/spaces/${id}/ports/${echoPort}/stream`, { authorization: `Bearer ${s.alice}`, origin: 'https://evil.example' });
    expect(await forged.refused).toBe(403);
    const audit = await s.api.client.listAudit({ action: 'terminal.open' } as never);
    expect(audit.items.some((a) => a.resourceId === id && a.actor === 'alice' && a.outcome === 'ok')).toBe(true);
  });

  it('lets only a replica open the relay: no credential or a wrong one 401, a page 403', async () => {
    const url = `${ws(s.api)}${REPLICA_LINK_PATH}`;
    expect(await rawWs(url, {}, REPLICA_SUBPROTOCOL).refused).toBe(401);
    expect(await rawWs(url, { authorization: 'Bearer not-the-credential' }, REPLICA_SUBPROTOCOL).refused).toBe(401);
    // a user's own API token is not a replica's credential either
    expect(await rawWs(url, { authorization: `Bearer ${s.alice}` }, REPLICA_SUBPROTOCOL).refused).toBe(401);
    const credential = replicaCredential(s.backend.deps.settings.encryptKey)!;
    expect(await rawWs(url, { authorization: `Bearer ${credential}`, origin: new URL(s.api.url).origin }, REPLICA_SUBPROTOCOL).refused).toBe(403);
    const replica = rawWs(url, { authorization: `Bearer ${credential}` }, REPLICA_SUBPROTOCOL);
    await replica.opened;
    replica.ws.close();
  });

  it('closes what rode the holder with 4503 when the holder goes away', async () => {
    const t = openTerminal(ws(other), id, s.alice);
    await t.waitStatus('open');
    t.conn.send('echo before-the-holder-goes\n');
    await t.waitFor(/before-the-holder-goes/);
    await s.restartApi();
    const closes = t.statuses.map((x) => x.status);
    await until('the terminal to notice', () => t.statuses.length > closes.length, 15_000, 10);
    expect(t.statuses.slice(closes.length).map((x) => x.status)).toContain('reconnecting');
    t.close();
  });
});
