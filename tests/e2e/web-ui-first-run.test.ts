/**
 * First run in a real browser (Debian's Chromium via playwright-core) on the real stack, from an
 * empty store: the starter templates offered on the Spaces and Templates pages, `debian` added with
 * one click, a space created and started without typing any HCL; the template editors (CodeMirror,
 * fetched only on template pages) marking a broken job's problem at its line; the parameter form
 * round-tripping every parameter type; the empty states; and the first load within its budget.
 */
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { webRoot } from '../../api/web-app';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { launchBrowser, seriousAxeViolations } from '../support/browser';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { until } from '../support/wait';

const ADMIN_PASSWORD = 'correct horse battery staple';
const UI_TIMEOUT = 20_000;
/** the budget for the JavaScript of the first load, gzipped */
const FIRST_LOAD_JS_BUDGET = 200 * 1024;

jest.setTimeout(300_000);

const built = webRoot() !== null;
const describeBuilt = built ? describe : describe.skip;
if (!built) console.log('web UI tests skipped: run `npm run build` first (dist/web)');

/** Every parameter type with every field it allows. */
const PARAMETERS = [
  { variable: 'name', label: 'Name', description: 'shown to users', type: 'string', required: true, defaultValue: 'dev', validation: '^[a-z]+$', invalidation: 'admin', placeholder: 'dev', section: 'Basics' },
  { variable: 'notes', label: 'Notes', type: 'multiline', defaultValue: 'line one\nline two', section: 'Basics' },
  { variable: 'gpu', label: 'GPU', type: 'boolean', defaultValue: true },
  { variable: 'cpus', label: 'CPUs', type: 'number', min: 1, max: 8, defaultValue: 2 },
  { variable: 'size', label: 'Disk', type: 'enum', options: ['10G', '20G'], defaultValue: '20G', required: true },
  { variable: 'secret', label: 'Secret', type: 'password', placeholder: 'a passphrase', validation: '^.{8,}$' },
];

describeBuilt('web UI first run in Chromium on the real stack', () => {
  let backend: Backend;
  let api: Api;
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const cspErrors: string[] = [];
  const axeFindings: Record<string, unknown[]> = {};
  /** the JavaScript each page fetched: url → gzipped bytes */
  const scripts = new Map<string, number>();

  async function scan(p: Page, name: string) {
    const v = await seriousAxeViolations(p);
    if (v.length) axeFindings[name] = v;
  }
  const row = (p: Page, name: string) => p.locator(`tr[data-space="${name}"]`);
  const jobEditor = (p: Page) => p.locator('.code-field').filter({ hasText: 'Nomad job (HCL)' });

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey, KNOT_BOOTSTRAP_PASSWORD: ADMIN_PASSWORD },
    });
    launched = await launchBrowser();
    browser = launched.browser;
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    page.on('response', (r) => {
      if (!r.url().endsWith('.js')) return;
      void r.body().then((b) => scripts.set(new URL(r.url()).pathname, gzipSync(b, { level: 9 }).length), () => undefined);
    });
  });
  afterAll(async () => {
    await launched?.close();
    await api?.close();
    await backend?.close();
  });

  it('empty store: the starters are offered; add debian, Create Space, Start — no HCL typed', async () => {
    await page.goto(api.url + '/');
    await page.getByLabel('Username', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();
    // the first load: within budget, and without the editor
    await page.getByText('No spaces yet, and no template').waitFor();
    await until('the first load’s scripts to be measured', () => scripts.size > 0);
    const firstLoad = [...scripts.values()].reduce((a, b) => a + b, 0);
    expect(firstLoad).toBeLessThanOrEqual(FIRST_LOAD_JS_BUDGET);
    expect([...scripts.keys()].filter((u) => /codemirror/.test(u))).toEqual([]);
    console.log(`first load: ${(firstLoad / 1024).toFixed(1)} KB of gzipped JavaScript (${[...scripts.keys()].join(', ')})`);
    await page.getByRole('button', { name: 'Add debian-exec' }).waitFor();
    await scan(page, 'spaces-empty');

    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await page.getByText('No templates yet').waitFor();
    await page.getByText('Debian (exec driver, no Docker)').waitFor();
    await scan(page, 'templates-empty');
    await page.getByRole('button', { name: 'Add debian', exact: true }).click();
    await page.getByText('Template debian added').waitFor();
    await page.getByRole('row', { name: /Debian \(Docker\)/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Add debian-exec' }).count()).toBe(0); // no longer an empty store
    const stored = await api.client.getTemplate('debian');
    expect(stored).toMatchObject({ version: '1.0.0', job: seedJob(), volumes: seedVolumes() });

    await page.getByRole('status').getByRole('link', { name: 'Create Space' }).click();
    await page.getByRole('heading', { name: 'Create Space' }).waitFor();
    expect(await page.getByLabel('Template').inputValue()).toBe('debian');
    await page.getByLabel('Name').fill('first');
    await page.getByRole('button', { name: 'Create Space' }).click();
    await row(page, 'first').getByText('Stopped').waitFor();
    await page.getByRole('button', { name: 'Start first' }).click();
    await row(page, 'first').getByText('Running', { exact: true }).waitFor();
  });

  it('the job editor highlights, numbers lines, and marks a broken job’s problem at its line and column', async () => {
    await page.goto(api.url + '/templates/debian');
    await jobEditor(page).locator('.cm-editor').waitFor();
    expect([...scripts.keys()].some((u) => /codemirror/.test(u))).toBe(true); // fetched here, on demand
    await until('the job to load', async () => (await jobEditor(page).locator('.cm-content').innerText()).includes('job "'));
    expect(await jobEditor(page).locator('.cm-lineNumbers .cm-gutterElement').filter({ hasText: /^12$/ }).count()).toBe(1);
    expect(await jobEditor(page).locator('.cm-knot-expression').first().innerText()).toBe('${{.space.name}}');
    await scan(page, 'template-edit');

    const broken = ['job "broken" {', '  datacenters = ["${{ .nomad.dc }}"]', '  name = "${{ .space.name }}-${{ .user.username }}" = 3', '}', ''].join('\n');
    await jobEditor(page).locator('.cm-content').fill(broken);
    await page.getByRole('button', { name: 'Validate' }).click();
    const column = broken.split('\n')[2]!.indexOf('" = 3') + 3; // the stray `=`, in the template's own columns
    await page.getByText(`(line 3, column ${column})`).waitFor();
    const marked = await until('the problem marked in the editor', () =>
      jobEditor(page).evaluate((el) => {
        const lines = Array.from(el.querySelectorAll('.cm-line'));
        const at = lines.findIndex((l) => l.querySelector('.cm-lintRange-error'));
        return at < 0 ? null : { line: at + 1, text: lines[at]!.querySelector('.cm-lintRange-error')!.textContent };
      }),
    );
    expect(marked).toEqual({ line: 3, text: '=' });
    await jobEditor(page).locator('.cm-lint-marker-error').waitFor();
    await page.getByRole('button', { name: 'Go to line 3' }).click();
    expect(await page.evaluate(() => document.activeElement?.classList.contains('cm-content'))).toBe(true);
  });

  it('the parameter form round-trips every parameter type, and edits them with the server’s rules', async () => {
    const created = await api.call('POST', '/api/v1/templates', { body: { name: 'params', job: seedJob(), volumes: seedVolumes(), parameters: PARAMETERS } });
    expect(created.status).toBe(201);
    await page.goto(api.url + '/templates/params');
    const group = (n: number) => page.getByRole('group', { name: new RegExp(`^Parameter ${n}\\b`) });
    await group(6).waitFor();
    expect(await group(1).getByLabel('Must match (regex)').inputValue()).toBe('^[a-z]+$');
    expect(await group(2).getByLabel('Default').inputValue()).toBe('line one\nline two');
    expect(await group(3).getByLabel('Default').inputValue()).toBe('true');
    expect(await group(4).getByLabel('Maximum').inputValue()).toBe('8');
    expect(await group(5).getByLabel('Options (one per line)').inputValue()).toBe('10G\n20G');
    expect(await group(6).getByLabel('Type').inputValue()).toBe('password');
    await scan(page, 'parameter-form');

    // the raw JSON is the stored list, and saving unchanged makes no version
    await page.getByLabel('Edit as JSON').check();
    expect(JSON.parse(await page.getByLabel('Parameters (JSON list)').inputValue())).toEqual(PARAMETERS);
    await page.getByLabel('Edit as JSON').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('No change: no new version').waitFor();

    // the shared rules answer as you type: min above max
    await group(4).getByLabel('Minimum').fill('9');
    await group(4).getByText('min (9) is greater than max (8)').waitFor();
    await group(4).getByLabel('Minimum').fill('1');
    await until('the error to clear', async () => (await group(4).getByText('is greater than').count()) === 0);

    // add (an enum), move it up, remove one, change a type
    await page.getByRole('button', { name: 'Add parameter' }).click();
    await group(7).getByLabel(/^Variable/).fill('region');
    await group(7).getByLabel('Type').selectOption('enum');
    await group(7).getByLabel('Options (one per line)').fill('eu\nus');
    await group(7).getByLabel('Default').selectOption('eu');
    await group(7).getByRole('button', { name: 'Move up' }).click();
    await until('region to be sixth', async () => (await group(6).getByLabel(/^Variable/).inputValue()) === 'region');
    await page.getByRole('button', { name: 'Remove parameter 2' }).click(); // notes
    await group(2).getByLabel('Type').selectOption('string'); // gpu: its boolean default does not fit a string
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved as version 2.0.0').waitFor(); // a parameter removed: a major version
    const saved = await api.client.getTemplate('params');
    expect(saved.parameters).toEqual([
      PARAMETERS[0],
      { variable: 'gpu', label: 'GPU', type: 'string' },
      PARAMETERS[3],
      PARAMETERS[4],
      { variable: 'region', type: 'enum', options: ['eu', 'us'], defaultValue: 'eu' },
      PARAMETERS[5],
    ]);
  });

  it('says what an empty list is and what to do next; every page passes axe and the CSP', async () => {
    for (const [url, text] of [
      ['/admin/groups', 'No groups yet'],
      ['/admin/variables', 'No template variables yet'],
      ['/account', 'No SSH keys yet'],
    ] as const) {
      await page.goto(api.url + url);
      await page.getByText(text).waitFor();
      await scan(page, url);
    }
    const alice = await api.user('alice');
    expect((await api.call('POST', `/api/v1/users/${alice.user.id}/password`, { body: { password: 'alice-password-1' } })).status).toBe(204);
    const aliceCtx = await browser.newContext();
    const p = await aliceCtx.newPage();
    p.setDefaultTimeout(UI_TIMEOUT);
    await p.goto(api.url + '/');
    await p.getByLabel('Username', { exact: true }).fill('alice');
    await p.getByLabel('Password', { exact: true }).fill('alice-password-1');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('No spaces yet. A space is your development environment').waitFor();
    await p.locator('.empty-state').getByRole('link', { name: 'Create your first space' }).waitFor();
    await scan(p, 'spaces-empty-user');
    await aliceCtx.close();

    expect(axeFindings).toEqual({});
    expect(cspErrors).toEqual([]);
  });
});
