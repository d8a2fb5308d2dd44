/**
 * The space page's Auto-start editor (web/src/autostart-editor.tsx) clicked through in Chromium:
 * Mon–Fri 09:00 saved (the API has it, the page shows the next start), a time outside the
 * template's schedule refused with the server's message under the Time field (nothing saved), and
 * Turn off clears it. The editor passes axe. The real stack (SQLite), serving the build in
 * KNOT_TEST_WEB_ROOT when set, else dist/web.
 */
import type { Page } from 'playwright-core';
import { webRoot } from '../../api/web-app';
import { closeTemporal, startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { launchBrowser, seriousAxeViolations } from '../support/browser';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { until } from '../support/wait';

const ADMIN_PASSWORD = 'correct horse battery staple';
const root = process.env.KNOT_TEST_WEB_ROOT ?? webRoot();
const describeBuilt = root ? describe : describe.skip;
if (!root) console.log('web UI autostart test skipped: build the web UI first (dist/web)');

jest.setTimeout(180_000);
afterAll(closeTemporal);

const hours = { from: '08:00', to: '18:00' };
const office = { mon: [hours], tue: [hours], wed: [hours], thu: [hours], fri: [hours] };

describeBuilt('auto-start in the web UI', () => {
  let backend: Backend;
  let api: Api;
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const axeFindings: Record<string, unknown[]> = {};
  const scan = async (name: string) => {
    const v = await seriousAxeViolations(page);
    if (v.length) axeFindings[name] = v;
  };

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey, KNOT_BOOTSTRAP_PASSWORD: ADMIN_PASSWORD },
      webRoot: root,
    });
    expect((await api.call('POST', '/api/v1/templates', { body: { name: 'office', job: seedJob(), volumes: seedVolumes(), schedule: office } })).status).toBe(201);
    launched = await launchBrowser();
    page = await (await launched.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(20_000);
  });
  afterAll(async () => {
    await launched?.close();
    await api?.close();
    await backend?.close();
  });

  it('saves Mon–Fri 09:00, shows a refusal at the Time field, and turns it off', async () => {
    const id = (await api.call('POST', '/api/v1/spaces', { body: { name: 'desk', template: 'office' } })).body.id as string;
    const autostartOf = async () => (await api.call('GET', `/api/v1/spaces/${id}`)).body.autostart;

    await page.goto(api.url + '/');
    await page.getByLabel('Username', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-space="desk"]').getByRole('link', { name: 'desk' }).click();
    await page.getByRole('heading', { name: 'Auto-start', level: 2 }).waitFor();
    const next = page.locator('[data-next-autostart]');
    expect(await next.textContent()).toContain('Off');
    await scan('editor, off');

    for (const day of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri']) await page.getByLabel(day, { exact: true }).check();
    await page.getByLabel('Time', { exact: true }).fill('09:00');
    await page.getByRole('button', { name: 'Save auto-start' }).click();
    await page.getByText('Mon, Tue, Wed, Thu, Fri at 09:00 (owner\'s time zone); next start').waitFor();
    expect(await autostartOf()).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], at: '09:00' });
    // the next start the page shows is the API's
    const nextAt = (await api.call('GET', `/api/v1/spaces/${id}`)).body.status as { nextAutostartAt: string };
    expect(nextAt.nextAutostartAt).toMatch(/T09:00:00\.000Z$/);
    await scan('editor, set');

    // 07:00 is before the template's 08:00 window: the server's 400 names autostart.at
    const time = page.getByLabel('Time', { exact: true });
    await time.fill('07:00');
    await page.getByRole('button', { name: 'Save auto-start' }).click();
    const fieldError = page.locator('#autostart-at-error');
    await fieldError.waitFor();
    // the first of the next week's 07:00s that is refused: Monday's, unless today's has passed
    expect(await fieldError.textContent()).toMatch(/07:00 on (mon|tue|wed|thu|fri) .*outside the template's schedule/);
    expect(await time.getAttribute('aria-invalid')).toBe('true');
    expect(await time.getAttribute('aria-describedby')).toBe('autostart-at-error');
    expect(await autostartOf()).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], at: '09:00' });
    await scan('editor, refused');

    await page.getByRole('button', { name: 'Turn off auto-start' }).click();
    await until('the autostart cleared', async () => (await autostartOf()) === null);
    await page.getByText('Off: the space starts only when someone starts it.').waitFor();
    expect(await page.getByRole('button', { name: 'Turn off auto-start' }).count()).toBe(0);
    expect(axeFindings).toEqual({});
  });
});
