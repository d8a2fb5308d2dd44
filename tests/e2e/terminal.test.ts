/**
 * The browser terminal end to end (issue 19), in Debian's Chromium on the real stack as
 * web-ui.test.ts runs it: a space started from the seed template, its agent linking to the API, the
 * "Terminal" link appearing on the Spaces page without a reload, the terminal page in a new window,
 * a command typed and its output read from the DOM (xterm's screen-reader tree), and a reload of
 * the terminal page that re-attaches the same shell (the marker is still on screen, once).
 *
 * Needs the server side (the terminal WebSocket, the agent link, `space.agent` events) and the
 * agent: `startAgentFor` is the hook that starts the space's agent; until it is wired the suite is
 * skipped.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { webRoot } from '../../api/web-app';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { launchBrowser, seriousAxeViolations } from '../support/browser';
import { agentTaskEnv, spawnAgent } from '../support/agent-process';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';

const ADMIN_PASSWORD = 'correct horse battery staple';
const UI_TIMEOUT = 20_000;

jest.setTimeout(300_000);

interface SpaceRef {
  id: string;
  name: string;
}

/** Stops what startAgentFor started. */
type StopAgent = () => Promise<void>;

/** Starts the space's real agent process as a Nomad client would: the task's env from the sandbox, dialling this API. */
async function startAgentFor(space: SpaceRef, ctx: { apiUrl: string; api: Api; backend: Backend }): Promise<StopAgent> {
  const fresh = await ctx.api.client.getSpace(space.id);
  const agent = spawnAgent(await agentTaskEnv(ctx.backend.sandbox.url, fresh.status.nomadJobId!), ctx.apiUrl);
  return () => agent.stop();
}

const built = webRoot() !== null;
const describeReady = built ? describe : describe.skip;
if (!built) console.log('terminal browser test skipped: run `npm run build` first (dist/web)');

describeReady('the browser terminal in Chromium on the real stack', () => {
  let backend: Backend;
  let api: Api;
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const stops: StopAgent[] = [];
  const cspErrors: string[] = [];

  async function newPage(c: BrowserContext) {
    const p = await c.newPage();
    watch(p);
    return p;
  }
  function watch(p: Page) {
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    p.setDefaultTimeout(UI_TIMEOUT);
  }
  const row = (p: Page, name: string) => p.locator(`tr[data-space="${name}"]`);
  /** what the terminal shows, as text (screen-reader mode keeps the rows in the DOM) */
  const screenText = (p: Page) => p.locator('.xterm-rows').innerText();

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey, KNOT_BOOTSTRAP_PASSWORD: ADMIN_PASSWORD },
    });
    const tpl = await api.call('POST', '/api/v1/templates', { body: { name: 'example', description: 'seed 000', job: seedJob(), volumes: seedVolumes() } });
    expect(tpl.status).toBe(201);
    launched = await launchBrowser();
    browser = launched.browser;
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctx.on('page', watch);
    page = await newPage(ctx);
  });
  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    await launched?.close();
    await api?.close();
    await backend?.close();
  });

  it('opens a terminal from the Spaces page, runs a command, and a reload re-attaches the same shell', async () => {
    await page.goto(api.url + '/');
    await page.getByLabel('Username', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();
    // a marker that survives only as long as the page is not reloaded
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

    const created = await api.call('POST', '/api/v1/spaces', { body: { name: 'termtest', template: 'example' } });
    expect(created.status).toBe(201);
    const space: SpaceRef = { id: created.body.id as string, name: 'termtest' };
    await page.getByRole('button', { name: `Start ${space.name}` }).click();
    await row(page, space.name).getByText('Running', { exact: true }).waitFor();
    stops.push(await startAgentFor(space, { apiUrl: api.url, api, backend }));

    // the agent's link arrives as a `space.agent` event: the link appears without a reload
    const link = row(page, space.name).getByRole('link', { name: 'Terminal', exact: true });
    await link.waitFor();
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true)).toBe(true);
    expect(await seriousAxeViolations(page)).toEqual([]);

    const [term] = await Promise.all([ctx.waitForEvent('page'), link.click()]);
    await term.getByText('Connected.').waitFor();
    expect(await term.title()).toBe(`Terminal — ${space.name}`);
    expect(new URL(term.url()).pathname).toBe(`/spaces/${space.id}/terminal`);
    const session = new URL(term.url()).searchParams.get('session');
    expect(session).toMatch(/^[A-Za-z0-9_-]{16}$/);
    await term.locator('.xterm-screen').click();

    // the output differs from what is typed ($((…)) is the shell's), so only a real shell matches
    const n = 1000 + Math.floor(Math.random() * 9000);
    const marker = `KNOT_${n + 1}_MARK`;
    await term.keyboard.type(`echo KNOT_$((${n}+1))_MARK`);
    await term.keyboard.press('Enter');
    await term.locator('.xterm-accessibility', { hasText: marker }).waitFor({ state: 'attached' });
    expect(await seriousAxeViolations(term)).toEqual([]);

    // a reload keeps the session id (it is in the URL) and the server replays the screen once
    await term.reload();
    await term.getByText('Connected.').waitFor();
    expect(new URL(term.url()).searchParams.get('session')).toBe(session);
    await term.locator('.xterm-accessibility', { hasText: marker }).waitFor({ state: 'attached' });
    expect((await screenText(term)).split(marker).length - 1).toBe(1);

    // the shell ends: the page says so and offers a new one
    await term.locator('.xterm-screen').click();
    await term.keyboard.type('exit 3');
    await term.keyboard.press('Enter');
    await term.getByText('The shell ended (exit code 3).').waitFor();
    await term.getByRole('button', { name: 'New terminal' }).click();
    await term.getByText('Connected.').waitFor();
    expect(new URL(term.url()).searchParams.get('session')).not.toBe(session);

    // the space stops: the terminal page hears it from the event stream
    await page.getByRole('button', { name: `Stop ${space.name}` }).click();
    await term.getByText('The space stopped.').waitFor();
    await row(page, space.name).getByText('Stopped').waitFor();
    expect(await row(page, space.name).getByRole('link', { name: 'Terminal' }).count()).toBe(0);
    expect(cspErrors).toEqual([]);
  });
});
