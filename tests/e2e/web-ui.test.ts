/**
 * The web UI in a real browser (Debian's Chromium via playwright-core) against the real stack:
 * the API serving the built UI, a real worker on the Temporal dev server, the Nomad sandbox over
 * HTTP. Seed 000 by clicking — sign in, create, start (Running appears without a reload), a
 * template change → Update Available → update with the volume warning, stop, delete with the
 * confirmation — plus cancelling a hanging start, a failed start's reason, a user who sees only
 * their own spaces and templates, and an axe-core scan of every page. With
 * KNOT_SCREENSHOTS=docs/screenshots it also writes the README's screenshots.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { webRoot } from '../../api/web-app';
import { newId } from '../../core/names';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { launchBrowser, seriousAxeViolations } from '../support/browser';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { until } from '../support/wait';

const ADMIN_PASSWORD = 'correct horse battery staple';
const SHOTS = process.env.KNOT_SCREENSHOTS ? path.resolve(process.env.KNOT_SCREENSHOTS) : null;
const UI_TIMEOUT = 20_000;

jest.setTimeout(300_000);

const built = webRoot() !== null;
const describeBuilt = built ? describe : describe.skip;
if (!built) console.log('web UI tests skipped: run `npm run build` first (dist/web)');

describeBuilt('web UI in Chromium on the real stack', () => {
  let backend: Backend;
  let api: Api;
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const cspErrors: string[] = [];
  const axeFindings: Record<string, unknown[]> = {};

  async function shot(p: Page, name: string) {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }
  async function scan(p: Page, name: string) {
    const v = await seriousAxeViolations(p);
    if (v.length) axeFindings[name] = v;
  }
  const row = (p: Page, name: string) => p.locator(`tr[data-space="${name}"]`);
  async function newPage(c: BrowserContext) {
    const p = await c.newPage();
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    p.setDefaultTimeout(UI_TIMEOUT);
    return p;
  }
  async function signIn(p: Page, username: string, password: string) {
    await p.goto(api.url + '/');
    await p.getByLabel('Username', { exact: true }).fill(username);
    await p.getByLabel('Password', { exact: true }).fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();
  }

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
    page = await newPage(ctx);
  });
  afterAll(async () => {
    await launched?.close();
    await api?.close();
    await backend?.close();
  });

  it('signs in with a password, walks seed 000 by clicking, live', async () => {
    await page.goto(api.url + '/');
    await page.getByLabel('Username', { exact: true }).waitFor();
    await scan(page, 'sign-in');
    await shot(page, 'sign-in');
    await page.getByLabel('Username', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('wrong username or password').waitFor();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    // the session cookie is HttpOnly: the page's script cannot read it
    expect(await page.evaluate(() => document.cookie)).not.toContain('knot_session');
    const cookies = await ctx.cookies();
    expect(cookies.find((c) => c.name === 'knot_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // a marker that survives only as long as the page is not reloaded
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const notReloaded = () => page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);

    await page.getByRole('link', { name: 'Create Space' }).click();
    await page.getByRole('heading', { name: 'Create Space' }).waitFor();
    expect(await page.getByLabel('Terminal Shell').inputValue()).toBe('bash');
    await scan(page, 'create-space');
    await page.getByRole('button', { name: 'Create Space' }).click();
    await page.locator('#name-error').waitFor(); // client-side check, nothing sent
    await page.getByLabel('Name').fill('mytest');
    await page.getByLabel('Template').selectOption('example');
    await shot(page, 'create-space');
    await page.getByRole('button', { name: 'Create Space' }).click();
    await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();
    await row(page, 'mytest').getByText('Stopped').waitFor();

    await page.getByRole('button', { name: 'Start mytest' }).click();
    await row(page, 'mytest').getByText('Running', { exact: true }).waitFor();
    expect(await notReloaded()).toBe(true);
    await scan(page, 'spaces');
    await shot(page, 'spaces');

    // template change: the home volume goes, a data volume comes
    const changed = seedVolumes().replace(/_home/g, '_data');
    const put = await api.call('PUT', '/api/v1/templates/example', { body: { name: 'example', description: 'seed 000', job: seedJob().replace(/_home/g, '_data'), volumes: changed } });
    expect(put.status).toBe(200);
    await row(page, 'mytest').getByText('Update Available').waitFor();
    expect(await notReloaded()).toBe(true);
    await shot(page, 'spaces-update-available');
    // seed 000: "to update the space, stop it and then start it again"
    await page.getByRole('button', { name: 'Stop mytest' }).click();
    await row(page, 'mytest').getByText('Stopped').waitFor();

    await page.getByRole('button', { name: 'Update mytest' }).click();
    const dialog = page.getByRole('dialog', { name: 'Update mytest?' });
    await dialog.getByText('Volumes to be DELETED WITH THEIR DATA').waitFor();
    const spaceId = (await api.call('GET', '/api/v1/spaces/mytest')).body.id as string;
    await dialog.getByText(`debian_${spaceId}_home`).waitFor();
    await dialog.getByText(`debian_${spaceId}_data`).waitFor();
    const confirm = dialog.getByRole('button', { name: 'Update space' });
    expect(await confirm.isDisabled()).toBe(true);
    await scan(page, 'update-dialog');
    await shot(page, 'update-dialog');
    await dialog.getByLabel(/I understand/).check();
    await confirm.click();
    let last: unknown = null;
    const finished = await until(
      'the update operation to finish',
      async () => {
        const s = (await api.call('GET', `/api/v1/spaces/${spaceId}`)).body.status as { lastOperation: { type: string; status: string }; volumes: { id: string }[] };
        last = s;
        return s.lastOperation.type === 'start' && s.lastOperation.status !== 'running' && s.lastOperation.status !== 'pending' ? s : null;
      },
      60_000,
      50,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(last)}`);
    });
    expect(finished.lastOperation.status).toBe('succeeded');
    expect(finished.volumes.map((v) => v.id)).toEqual([`debian_${spaceId}_data`]);
    await row(page, 'mytest').getByText('Running', { exact: true }).waitFor();
    await until('the badge to go', async () => (await row(page, 'mytest').getByText('Update Available').count()) === 0, UI_TIMEOUT, 50);

    // the space page: versions, volumes, the operations with their steps, the Temporal link
    await row(page, 'mytest').getByRole('link', { name: 'mytest' }).click();
    await page.getByRole('heading', { name: 'mytest', level: 1 }).waitFor();
    await page.getByRole('list', { name: 'Steps of start' }).first().waitFor();
    await page.getByText('registering job').first().waitFor();
    expect(await page.getByRole('link', { name: /Workflow in Temporal UI/ }).first().getAttribute('href')).toMatch(/\/namespaces\/default\/workflows\/space-/);
    await scan(page, 'space');
    await shot(page, 'space');
    await page.getByRole('link', { name: '← Spaces' }).click();

    await page.getByRole('button', { name: 'Stop mytest' }).click();
    await row(page, 'mytest').getByText('Stopped').waitFor();
    await page.getByRole('button', { name: 'Delete mytest' }).click();
    const del = page.getByRole('dialog', { name: 'Delete mytest?' });
    await del.getByText('its volumes and all the data they contain').waitFor();
    await scan(page, 'delete-dialog');
    await shot(page, 'delete-dialog');
    await del.getByRole('button', { name: 'Delete space and volumes' }).click();
    await until('the row to go', async () => (await row(page, 'mytest').count()) === 0, UI_TIMEOUT, 50);
    expect(await notReloaded()).toBe(true);
  });

  it('cancels a hanging start, and shows why a start failed', async () => {
    // allocations of hang-* and broken-* never start; "slow" gives up after 2 s with a reason
    backend.sandbox.setFaults({ pendingAllocations: '^(hang|broken)-' });
    try {
      const slow = await api.call('POST', '/api/v1/templates', { body: { name: 'slow', description: 'gives up fast', job: seedJob(), volumes: seedVolumes(), startTimeout: '2s' } });
      expect(slow.status).toBe(201);
      expect((await api.call('POST', '/api/v1/spaces', { body: { name: 'hang', template: 'example' } })).status).toBe(201);
      expect((await api.call('POST', '/api/v1/spaces', { body: { name: 'broken', template: 'slow' } })).status).toBe(201);
      await page.goto(api.url + '/');
      await page.getByRole('button', { name: 'Start hang' }).click();
      await row(page, 'hang').getByText('waiting', { exact: false }).first().waitFor();
      await page.getByRole('button', { name: /Cancel start of hang/ }).click();
      await row(page, 'hang').getByText('Stopped').waitFor();
      const job = await fetch(`${backend.sandbox.url}/v1/job/hang-admin`);
      expect(job.status).toBe(404);

      await page.getByRole('button', { name: 'Start broken' }).click();
      // a failed start is compensated back to Stopped; the row says why
      await row(page, 'broken').locator('.reason').waitFor();
      expect(await row(page, 'broken').locator('.reason').innerText()).toMatch(/start|time/i);
      await row(page, 'broken').getByText('Stopped').waitFor();
      await shot(page, 'spaces-failed');
    } finally {
      backend.sandbox.setFaults({});
    }
  });

  it('a user sees only their own spaces and the templates of their groups; admin pages pass axe', async () => {
    const alice = await api.user('alice');
    expect((await api.call('POST', `/api/v1/users/${alice.user.id}/password`, { body: { password: 'alice-password-1' } })).status).toBe(204);
    expect((await api.call('POST', '/api/v1/groups', { body: { name: 'ops', members: [] } })).status).toBe(201);
    const secret = await api.call('POST', '/api/v1/templates', { body: { name: 'ops-only', description: 'ops', job: seedJob(), volumes: seedVolumes(), groups: ['ops'] } });
    expect(secret.status).toBe(201);
    expect((await api.call('POST', '/api/v1/spaces', { body: { name: 'alices', template: 'example' }, token: alice.token })).status).toBe(201);

    const aliceCtx = await browser.newContext();
    const p = await newPage(aliceCtx);
    await signIn(p, 'alice', 'alice-password-1');
    await row(p, 'alices').waitFor();
    expect(await p.locator('tbody tr').count()).toBe(1);
    expect(await p.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await p.getByRole('link', { name: 'Create Space' }).click();
    const options = await p.getByLabel('Template').locator('option').allInnerTexts();
    expect(options.sort()).toEqual(['example', 'slow']); // not ops-only: alice is not in ops
    await p.getByRole('link', { name: 'alice' }).click();
    await p.getByRole('heading', { name: 'Account' }).waitFor();
    await scan(p, 'account');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByLabel('Username', { exact: true }).waitFor();
    await aliceCtx.close();

    // the admin's pages
    for (const [url, heading, name] of [
      ['/templates', 'Templates', 'templates'],
      ['/templates/example', 'Template example', 'template-edit'],
      ['/admin/users', 'Admin', 'admin-users'],
      ['/admin/groups', 'Admin', 'admin-groups'],
      ['/admin/tokens', 'Admin', 'admin-tokens'],
      ['/admin/variables', 'Admin', 'admin-variables'],
      ['/admin/audit', 'Admin', 'admin-audit'],
    ] as const) {
      await page.goto(api.url + url);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.locator('main table, main form').first().waitFor();
      await scan(page, name);
      await shot(page, name);
    }
    // the template editor shows validation problems with their line and column
    await page.goto(api.url + '/templates/example');
    await page.locator('.code-field .cm-editor').first().waitFor(); // the code editor, fetched on this page
    await until('the template to load', async () => (await page.getByLabel('Nomad job (HCL)').innerText()).includes('job "'), UI_TIMEOUT, 50);
    await page.getByLabel('Nomad job (HCL)').fill('job "x" {\n  name = "${{ .nope }}"\n}\n');
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText(/line 2, column/).first().waitFor();

    expect(axeFindings).toEqual({});
    expect(cspErrors).toEqual([]);
  });

  it('pages the Spaces list from the server: first page, Load more and scroll, filters in the URL narrow it server-side, live rows', async () => {
    const admin = (await api.store.users.getByUsername('admin'))!;
    const example = (await api.store.templates.getByName('example'))!;
    // more spaces than a page (50), the newest of the store: many-00 … many-59, many-59 newest
    const base = Date.now();
    for (let i = 0; i < 60; i++) {
      const name = `many-${String(i).padStart(2, '0')}`;
      await api.store.spaces.insert({ id: newId(base + i), name, ownerId: admin.id, templateId: example.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, base + i);
    }
    // one made the ordinary way (its start below runs the real workflow): the newest of all, once
    // the clock has passed the last insert's time (60 inserts can take less than 60 ms)
    await until('the clock to pass the inserted spaces', () => Date.now() > base + 60, UI_TIMEOUT, 5);
    expect((await api.call('POST', '/api/v1/spaces', { body: { name: 'many-1a', template: 'example' } })).status).toBe(201);
    const listed: URL[] = [];
    const onRequest = (r: Request) => {
      const u = new URL(r.url());
      if (r.method() === 'GET' && u.pathname === '/api/v1/spaces') listed.push(u);
    };
    page.on('request', onRequest);
    try {
      await page.goto(api.url + '/');
      await row(page, 'many-1a').waitFor();
      await row(page, 'many-59').waitFor();
      expect(await page.locator('tbody tr').count()).toBe(50);
      expect(await row(page, 'many-09').count()).toBe(0);
      expect(listed.map((u) => Object.fromEntries(u.searchParams))).toEqual([{ order: 'newest', limit: '50' }]);

      // "Load more": the next page, by the cursor, below the first
      await page.getByRole('button', { name: 'Load more' }).click();
      await row(page, 'many-00').waitFor();
      expect(listed[1]?.searchParams.get('cursor')).toBeTruthy();
      const names = () => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-space') ?? ''));
      const all = await names();
      expect(all.slice(0, 3)).toEqual(['many-1a', 'many-59', 'many-58']);
      expect(all.indexOf('many-00')).toBe(60);
      await until('the last page to end the list', async () => (await page.getByRole('button', { name: 'Load more' }).count()) === 0, UI_TIMEOUT, 50);

      // scrolling to the end of the first page fetches the next by itself
      await page.goto(api.url + '/');
      await row(page, 'many-59').waitFor();
      expect(await row(page, 'many-00').count()).toBe(0);
      await page.getByRole('button', { name: 'Load more' }).scrollIntoViewIfNeeded();
      await row(page, 'many-00').waitFor();

      // the name box (a prefix, lowercased) goes to the URL and to the server; the list narrows
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
      listed.length = 0;
      const filters = page.getByRole('search', { name: 'Filter spaces' });
      await filters.getByLabel('Name starts with').fill('Many-1');
      await until('the filter in the URL', () => new URL(page.url()).searchParams.get('name') === 'many-1', UI_TIMEOUT, 20);
      await until('the list to narrow', async () => (await page.locator('tbody tr').count()) === 11, UI_TIMEOUT, 50);
      expect((await names()).every((n) => n.startsWith('many-1'))).toBe(true);
      expect(listed.some((u) => u.searchParams.get('namePrefix') === 'many-1')).toBe(true);
      expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
      // with a status too: nothing of these is running yet
      await filters.getByLabel('Status').selectOption('running');
      await page.getByText('No space matches the filters.').waitFor();
      expect(new URL(page.url()).search).toBe('?name=many-1&phase=running');
      // a reload keeps the filters (they are the URL)
      await page.goto(api.url + '/?name=many-1');
      await until('the filtered list after a reload', async () => (await page.locator('tbody tr').count()) === 11, UI_TIMEOUT, 50);
      expect(await filters.getByLabel('Name starts with').inputValue()).toBe('many-1');
      await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

      // live: a row on screen changes status in place; a new space matching the filters appears at
      // the top, one that does not match stays away
      const started = await api.call('POST', `/api/v1/spaces/many-1a/start`);
      expect(started.status).toBe(202);
      await row(page, 'many-1a').getByText('Running', { exact: true }).waitFor();
      expect((await api.call('POST', '/api/v1/spaces', { body: { name: 'other-new', template: 'example' } })).status).toBe(201);
      expect((await api.call('POST', '/api/v1/spaces', { body: { name: 'many-1new', template: 'example' } })).status).toBe(201);
      await row(page, 'many-1new').waitFor();
      expect((await names()).slice(0, 2)).toEqual(['many-1new', 'many-1a']);
      expect(await row(page, 'other-new').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true)).toBe(true);
    } finally {
      page.off('request', onRequest);
    }
  });

  it('serves the UI only where the API is not: /api, /health and /metrics keep their answers', async () => {
    const spa = await fetch(api.url + '/spaces/whatever', { headers: { accept: 'text/html' } });
    expect(spa.status).toBe(200);
    expect(spa.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await spa.text();
    expect(html).toContain('<div id="app">');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const unknownApi = await fetch(api.url + '/api/v1/nope', { headers: { accept: 'text/html' } });
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toContain('problem+json');
    expect((await fetch(api.url + '/health')).headers.get('content-type')).toContain('json');
    expect(existsSync(path.join(webRoot()!, 'index.html'))).toBe(true);
  });
});
