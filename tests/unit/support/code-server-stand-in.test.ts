/**
 * The code-server stand-in must really enforce code-server's Origin rule (code-server#6023), or
 * the browser test would pass through a proxy that breaks the real editor's WebSocket.
 */
import { WebSocket } from 'ws';
import { startCodeServerStandIn, type CodeServerStandIn } from '../../support/code-server-stand-in';

/** The upgrade's outcome: the first echo, or the refusal's status. */
function tryUpgrade(port: number, headers: Record<string, string>): Promise<{ echo?: string; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('open', () => ws.send('hi'));
    ws.once('message', (m: Buffer) => {
      resolve({ echo: m.toString() });
      ws.close();
    });
    ws.once('error', () => resolve({ status: -1 }));
  });
}

describe('the code-server stand-in', () => {
  let cs: CodeServerStandIn;
  beforeAll(async () => {
    cs = await startCodeServerStandIn();
  });
  afterAll(() => cs.close());

  it('answers /healthz like code-server, and serves a page with its script', async () => {
    const health = await fetch(`http://127.0.0.1:${cs.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'alive' });
    expect(await (await fetch(`http://127.0.0.1:${cs.port}/`)).text()).toContain('<script src="./app.js">');
    expect((await fetch(`http://127.0.0.1:${cs.port}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
  });

  it('refuses a WebSocket whose Origin is not the host it was reached by (403)', async () => {
    expect(await tryUpgrade(cs.port, { origin: 'http://evil.example' })).toEqual({ status: 403 });
    // behind a proxy that does not pass the public host on: Host is 127.0.0.1:<port>, the page's origin is not
    expect(await tryUpgrade(cs.port, { origin: 'http://knot.example.com' })).toEqual({ status: 403 });
    // X-Forwarded-Host wins over Host, so a wrong one refuses even a matching Host
    expect(await tryUpgrade(cs.port, { origin: `http://127.0.0.1:${cs.port}`, 'x-forwarded-host': 'other.example' })).toEqual({ status: 403 });
    expect(cs.refused).toEqual(expect.arrayContaining([expect.stringContaining('does not match origin "evil.example"')]));
  });

  it('lets the upgrade through when the Origin host is X-Forwarded-Host, or Host, or missing', async () => {
    expect(await tryUpgrade(cs.port, { origin: 'http://knot.example.com', 'x-forwarded-host': 'knot.example.com' })).toEqual({ echo: 'hi' });
    expect(await tryUpgrade(cs.port, { origin: `http://127.0.0.1:${cs.port}` })).toEqual({ echo: 'hi' });
    expect(await tryUpgrade(cs.port, {})).toEqual({ echo: 'hi' });
  });
});
