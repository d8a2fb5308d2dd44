/**
 * The SSH, Code Server and Ports icons end to end (issue 20), in Debian's Chromium on the real
 * stack as terminal.test.ts runs it: a space started from the seed template and its real agent
 * process. The agent runs on this machine, so a server on 127.0.0.1 is "inside the space": the test
 * starts a web app on a free port and the code-server stand-in (tests/support; real code-server
 * cannot be installed here) on another, with the agent's KNOT_CODE_SERVER_PORT pointing at it.
 *
 * With `server.wildcard_domain` = `*.localhost` (mapped to 127.0.0.1 in Chromium's resolver)
 * the icons open app hosts, with the one-time code exchange; the stand-in's WebSocket then only
 * connects if the proxy passes the public host on (code-server's Origin rule, code-server#6023).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { webRoot } from '../../api/web-app';
import { portAppPath } from '../../link/protocol';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { agentTaskEnv, spawnAgent, type AgentProcess } from '../support/agent-process';
import { launchBrowser, seriousAxeViolations } from '../support/browser';
import { startCodeServerStandIn, type CodeServerStandIn } from '../support/code-server-stand-in';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { until } from '../support/wait';

const ADMIN_PASSWORD = 'correct horse battery staple';
const UI_TIMEOUT = 20_000;
const SPACE = 'portsui';

jest.setTimeout(300_000);

/** A port nothing listens on now (the API is told its own URL before it listens). */
function freePort(): Promise<number> {
  const s = net.createServer();
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    }),
  );
}

const built = webRoot() !== null;
const describeReady = built ? describe : describe.skip;
if (!built) console.log('ports browser test skipped: run `npm run build` first (dist/web)');

describeReady('the SSH, Code Server and Ports icons in Chromium on the real stack', () => {
  let backend: Backend;
  let api: Api;
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let app: http.Server;
  let appPort: number;
  let tcp: net.Server;
  let tcpPort: number;
  let codeServer: CodeServerStandIn;
  let agent: AgentProcess | null = null;
  const cspErrors: string[] = [];

  function watch(p: Page) {
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(`${p.url()}: ${m.text()}`);
    });
    p.setDefaultTimeout(UI_TIMEOUT);
  }
  const row = (p: Page) => p.locator(`tr[data-space="${SPACE}"]`);

  beforeAll(async () => {
    app = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html lang="en"><title>web app</title><p>hello from the web app at ${req.url}</p></html>`);
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appPort = (app.address() as AddressInfo).port;
    codeServer = await startCodeServerStandIn();
    // a TCP-only port: it never answers, so the agent's HTTP probe times out
    tcp = net.createServer((c) => c.on('error', () => undefined));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as AddressInfo).port;

    backend = await startBackend('sqlite');
    // server.url must be where the API really listens: app hosts send a browser there to sign in
    const port = await freePort();
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey, KNOT_BOOTSTRAP_PASSWORD: ADMIN_PASSWORD, KNOT_SERVER_URL: `http://127.0.0.1:${port}`, KNOT_SERVER_WILDCARD_DOMAIN: '*.localhost' },
      port,
    });
    const tpl = await api.call('POST', '/api/v1/templates', { body: { name: 'example', description: 'seed 000', job: seedJob(), volumes: seedVolumes() } });
    expect(tpl.status).toBe(201);
    // the API listens on 127.0.0.1 only, and Chromium would try *.localhost on ::1
    launched = await launchBrowser(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    browser = launched.browser;
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctx.on('page', watch);
    page = await ctx.newPage();
  });
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await launched?.close();
    await api?.close();
    await backend?.close();
    await codeServer?.close();
    app?.closeAllConnections();
    app?.close();
    tcp?.close();
  });

  it('Ports opens a web port, Code Server opens the editor with its WebSocket, SSH shows the commands', async () => {
    await page.goto(api.url + '/');
    await page.getByLabel('Username', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();

    const created = await api.call('POST', '/api/v1/spaces', { body: { name: SPACE, template: 'example' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await page.getByRole('button', { name: `Start ${SPACE}` }).click();
    await row(page).getByText('Running', { exact: true }).waitFor();
    const fresh = await api.client.getSpace(id);
    agent = spawnAgent(await agentTaskEnv(backend.sandbox.url, fresh.status.nomadJobId!), api.url, { KNOT_CODE_SERVER_PORT: String(codeServer.port) });

    // the agent scans every 5 s and probes HTTP (and code-server's /healthz) on what it finds
    await until(
      'the web app and code-server reported',
      async () => {
        const s = (await api.client.getSpace(id)).status.agent.services;
        return s.httpPorts?.includes(appPort) && s.ports?.includes(tcpPort) && !s.httpPorts.includes(tcpPort) && s.codeServer === true && s.codeServerPort === codeServer.port;
      },
      60_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.output()}`);
    });

    // the icons arrive with `space.agent` events, no reload
    const ports = row(page).getByRole('button', { name: 'Ports', exact: true });
    const editor = row(page).getByRole('link', { name: 'Code Server', exact: true });
    const ssh = row(page).getByRole('button', { name: 'SSH', exact: true });
    await Promise.all([ports.waitFor(), editor.waitFor(), ssh.waitFor()]);
    expect(await editor.getAttribute('href')).toBe(`http://admin--${SPACE}--${codeServer.port}.localhost:${new URL(api.url).port}/`);

    // Ports: a disclosure; the web app is a link, a TCP-only port shows its forward command
    expect(await ports.getAttribute('aria-expanded')).toBe('false');
    await ports.click();
    expect(await ports.getAttribute('aria-expanded')).toBe('true');
    const menu = page.getByRole('group', { name: `Ports of ${SPACE}` });
    await menu.waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await menu.getByLabel(`Port ${tcpPort} on your machine`).inputValue()).toBe(`knot forward port ${tcpPort} ${SPACE} ${tcpPort}`);
    const webLink = menu.getByRole('link', { name: String(appPort), exact: true });
    const [web] = await Promise.all([ctx.waitForEvent('page'), webLink.click()]);
    await web.getByText('hello from the web app at /').waitFor();
    expect(new URL(web.url()).host).toBe(`admin--${SPACE}--${appPort}.localhost:${new URL(api.url).port}`);
    await web.close();
    // Escape closes the list and gives the focus back to its button
    await page.bringToFront();
    await menu.getByRole('link').first().focus();
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    expect(await ports.evaluate((b) => b === document.activeElement)).toBe(true);

    // Code Server: the stand-in in a new tab, its WebSocket through the proxy under code-server's Origin rule
    const [ide] = await Promise.all([ctx.waitForEvent('page'), editor.click()]);
    await ide.getByText('connected', { exact: true }).waitFor();
    await ide.getByText('echo: hello from the editor').waitFor();
    await ide.close();
    // the path form (no wildcard domain) passes the rule too: X-Forwarded-Host is the server's own host
    const byPath = await ctx.newPage();
    await byPath.goto(api.url + portAppPath('admin', SPACE, codeServer.port));
    await byPath.getByText('connected', { exact: true }).waitFor();
    await byPath.getByText('echo: hello from the editor').waitFor();
    await byPath.close();
    expect(codeServer.refused).toEqual([]);

    // SSH: a dialog with the command lines to copy
    await page.bringToFront();
    await ssh.click();
    const dialog = page.getByRole('dialog', { name: `SSH into ${SPACE}` });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Connect', { exact: true }).inputValue()).toBe(`knot ssh ${SPACE}`);
    await dialog.getByLabel('The host key, to pin in known_hosts').waitFor();
    expect(await dialog.getByLabel('then (also scp, sftp, VS Code Remote-SSH)').inputValue()).toBe(`ssh ${SPACE}.knot`);
    expect(await dialog.getByLabel('For your own ssh config: the ProxyCommand').inputValue()).toBe('ProxyCommand knot forward ssh %h');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await ssh.evaluate((b) => b === document.activeElement)).toBe(true);

    // the space page has the same icons
    await row(page).getByRole('link', { name: SPACE, exact: true }).click();
    await page.getByRole('heading', { name: SPACE, level: 1 }).waitFor();
    await Promise.all(['SSH', 'Ports'].map((n) => page.getByRole('button', { name: n, exact: true }).waitFor()));
    await page.getByRole('link', { name: 'Code Server', exact: true }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(cspErrors).toEqual([]);
  });
});
