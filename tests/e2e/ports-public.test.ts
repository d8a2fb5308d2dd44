/**
 * Public ports and the refusals of the port proxy, with a real agent process (apps on this
 * machine's 127.0.0.1 are "inside the space"). A template marks one port public: a stranger opens
 * it by path and by app host, while the space's other port stays the owner's (401). Proxied HTTP
 * is user activity (status.agent.lastActivity). The owner is told why a port cannot be reached:
 * 409 for a stopped space, 503 with no agent linked, 502 when nothing listens any more; `knot
 * forward port` says so before listening; refusals of a known user are audited.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { seedTemplate } from '../integration/api/harness';
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
function request(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An app answering with what it was asked (method, url, headers). */
function app(tag: string): http.Server {
  return http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tag, method: req.method, url: req.url, headers: req.headers })));
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function cli(args: string[], token: string, url: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KNOT_URL: url, KNOT_TOKEN: token, XDG_CONFIG_HOME: '/nonexistent' }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('public ports and the refusals of the port proxy', () => {
  let s: AgentStack;
  let id: string;
  const pub = app('public');
  const priv = app('private');
  let pubPort: number;
  let privPort: number;
  let gonePort: number;

  beforeAll(async () => {
    [pubPort, privPort] = [await listen(pub), await listen(priv)];
    // a port the agent declares (so it stays offered) where nothing will be listening
    const gone = net.createServer();
    gonePort = await listen(gone);
    await new Promise((r) => gone.close(r));

    s = await startAgentStack('sqlite', { config: { KNOT_ENCRYPT: testSettings.encryptKey, KNOT_SERVER_WILDCARD_DOMAIN: '*.localhost' } });
    await s.api.client.createTemplate(seedTemplate('pub', { ports: [{ port: pubPort, name: 'docs', public: true }, { port: privPort, name: 'admin' }] }) as never);
    const started = await s.startedSpace('web', { template: 'pub' });
    id = started.id;
    s.spawnAgent(started.env, { KNOT_TCP_PORT: `${gonePort}=gone` });
    await s.agentState(id, 'connected');
    await until(
      'the ports reported',
      async () => {
        const services = (await s.space(id)).status.agent.services as { httpPorts?: number[] };
        return [pubPort, privPort].every((p) => services.httpPorts?.includes(p));
      },
      30_000,
      200,
    );
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    pub.close();
    priv.close();
  });

  const path = (port: number, rest = '/') => `/spaces/alice/web/ports/${port}${rest}`;

  it('lets a stranger reach the public port by path and by app host, and counts it as activity', async () => {
    // nothing went through the link yet
    expect((await s.space(id)).status.agent.lastActivity).toBeNull();
    const before = Date.now();

    // a stale session cookie is a stranger's all the same; knot's cookies never reach the app
    const byPath = await request(s.api.url, 'GET', path(pubPort, '/hello?x=1'), { cookie: 'knot_session=stale-stale-stale-stale; app=1' });
    expect(byPath.status).toBe(200);
    const seen = JSON.parse(byPath.text) as { tag: string; url: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ tag: 'public', url: '/hello?x=1' });
    expect(seen.headers.cookie).toBe('app=1');
    expect(seen.headers['x-forwarded-prefix']).toBe(path(pubPort, ''));

    const host = `alice--web--${pubPort}.localhost:${new URL(s.api.url).port}`;
    const byHost = await request(s.api.url, 'GET', '/page', { host });
    expect(byHost.status).toBe(200);
    expect(JSON.parse(byHost.text)).toMatchObject({ tag: 'public', url: '/page' });

    // the proxied request is user activity: the agent reports it and the space shows it
    const at = await until('the proxied request recorded as activity', async () => (await s.space(id)).status.agent.lastActivity, 15_000, 100);
    expect(Date.parse(at)).toBeGreaterThanOrEqual(before - 1000);

    // the space and its template say which ports are public
    expect((await s.space(id)).status.publicPorts).toEqual([pubPort]);
    expect((await s.api.client.getTemplate('pub')).ports).toEqual([{ port: pubPort, name: 'docs', public: true }, { port: privPort, name: 'admin' }]);
  });

  it('keeps every other port the owner\'s: 401 for a stranger, and no WebSocket on the public one', async () => {
    const refused = await request(s.api.url, 'GET', path(privPort));
    expect(refused.status).toBe(401);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    // an app host of a private port sends the stranger to sign in
    const host = `alice--web--${privPort}.localhost:${new URL(s.api.url).port}`;
    expect((await request(s.api.url, 'GET', '/', { host })).status).toBe(302);
    // the owner still reaches it
    expect((await request(s.api.url, 'GET', path(privPort), { authorization: `Bearer ${s.alice}` })).status).toBe(200);

    const upgrade = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://${new URL(s.api.url).host}${path(pubPort, '/ws')}`, { headers: { origin: new URL(s.api.url).origin } });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.once('open', () => {
        resolve(101);
        ws.close();
      });
      ws.once('error', () => resolve(-1));
    });
    expect(upgrade).toBe(401);
  });

  it('rejects a template listing a port twice', async () => {
    const r = await s.api.client.validateTemplate(seedTemplate('dup', { ports: [{ port: 8080 }, { port: 8080, public: true }] }) as never);
    expect(r.valid).toBe(false);
    expect(r.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'ports[1].port' })]));
  });

  it('tells the owner why a port cannot be reached: 502 nothing listens, 503 no agent, 409 stopped', async () => {
    const bearer = { authorization: `Bearer ${s.alice}` };
    const gone = await request(s.api.url, 'GET', path(gonePort), bearer);
    expect(gone.status).toBe(502);
    expect(gone.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(gone.text).detail).toContain(`port ${gonePort}`);

    // started, but no agent ever linked
    const unlinked = await s.startedSpace('nolink', { template: 'pub' });
    const noAgent = await request(s.api.url, 'GET', `/spaces/alice/nolink/ports/${pubPort}/`, bearer);
    expect(noAgent.status).toBe(503);
    expect(JSON.parse(noAgent.text).detail).toContain("space 'nolink'");
    // public or not, a stranger learns nothing
    expect((await request(s.api.url, 'GET', `/spaces/alice/nolink/ports/${pubPort}/`)).status).toBe(401);

    await s.api.client.as(s.alice).stopSpace(unlinked.id);
    await s.settled(unlinked.id, 'stopped');
    const stopped = await request(s.api.url, 'GET', `/spaces/alice/nolink/ports/${pubPort}/`, bearer);
    expect(stopped.status).toBe(409);
    expect(JSON.parse(stopped.text)).toMatchObject({ status: 409 });
    expect(JSON.parse(stopped.text).detail).toContain("space 'nolink' is stopped");

    const audit = await s.api.client.listAudit({ action: 'port.http' } as never);
    const refusals = audit.items.filter((e: { actor: string; outcome: string }) => e.actor === 'alice' && e.outcome === 'refused');
    expect(refusals.map((e: { detail: { status?: number } }) => e.detail.status)).toEqual(expect.arrayContaining([502, 503, 409]));
  });

  it('knot forward port: a stopped space or another user\'s is refused before listening, with a clear message', async () => {
    const stopped = await cli(['forward', 'port', '0', 'nolink', String(pubPort)], s.alice, s.api.url);
    expect(stopped.code).not.toBe(0);
    expect(stopped.stdout).not.toContain('forwarding');
    expect(stopped.stderr).toMatch(/knot: space 'nolink' is stopped/);

    const others = await cli(['forward', 'port', '0', 'web', String(pubPort), '--owner', 'alice'], s.bob, s.api.url);
    expect(others.code).not.toBe(0);
    expect(others.stderr).toMatch(/knot: space 'web'.* not found/);
    const own = await cli(['forward', 'port', '0', 'web', String(pubPort)], s.bob, s.api.url);
    expect(own.code).not.toBe(0);
    expect(own.stderr).toMatch(/knot: space 'web'.* not found/);

    // the stream itself refuses a stopped space with 409, audited for the known user
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://${new URL(s.api.url).host}/api/v1/spaces/nolink/ports/${pubPort}/stream`, { headers: { authorization: `Bearer ${s.alice}` } });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    expect(status).toBe(409);
    const audit = await s.api.client.listAudit({ action: 'port.forward' } as never);
    expect(audit.items.some((e: { actor: string; outcome: string }) => e.actor === 'alice' && e.outcome === 'refused')).toBe(true);
  });
});
