/**
 * A start refused over quota shows the reason on the space's row (web/src/quota.tsx RowRefusal),
 * a create over maxSpaces says why in Create Space, and the Account page shows usage against the limits;
 * Create Space shows the template's units next to usage and limits, and the space page when a dormant
 * space is deleted with an admin's Exempt checkbox (web/src/dormancy.tsx). Chromium on the real stack (SQLite).
 * Serves the build in KNOT_TEST_WEB_ROOT when set (a build made beside dist/web), else dist/web.
 */
import type { Page } from 'playwright-core';
import { webRoot } from '../../api/web-app';
import { closeTemporal, startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { launchBrowser } from '../support/browser';
import { seedJob, seedVolumes, startHarness as startBackend, waitForOperation, type Harness as Backend } from '../support/harness';

const ADMIN_PASSWORD = 'correct horse battery staple';
const root = process.env.KNOT_TEST_WEB_ROOT ?? webRoot();
const describeBuilt = root ? describe : describe.skip;
if (!root) console.log('web UI quota test skipped: run `npm run build` first (dist/web)');

jest.setTimeout(180_000);
afterAll(closeTemporal);

describeBuilt('quota refusals in the web UI', () => {
  let backend: Backend;
  let api: Api;
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey, KNOT_BOOTSTRAP_PASSWORD: ADMIN_PASSWORD },
      webRoot: root,
    });
    expect((await api.call('POST', '/api/v1/templates', { body: { name: 'example', job: seedJob(), volumes: seedVolumes() } })).status).toBe(201);
    launched = await launchBrowser();
    page = await (await launched.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(20_000);
  });
  afterAll(async () => {
    await launched?.close();
    await api?.close();
    await backend?.close();
  });

  it('shows a start refused over quota on the row, and usage on the Account page', async () => {
    const ids: string[] = [];
    for (const name of ['one', 'two']) ids.push((await api.call('POST', '/api/v1/spaces', { body: { name, template: 'example' } })).body.id as string);
    const started = await api.call('POST', `/api/v1/spaces/${ids[0]}/start`);
    expect((await waitForOperation(backend.store, (started.body.operation as { id: string }).id)).status).toBe('succeeded');
    expect((await api.call('PATCH', '/api/v1/users/admin', { body: { quota: { computeUnits: 1 } } })).status).toBe(200);

    await page.goto(api.url + '/');
    await page.getByLabel('Username', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();
    const two = page.locator('tr[data-space="two"]');
    await two.getByText('Stopped').waitFor();
    await page.getByRole('button', { name: 'Start two' }).click();
    const refusal = two.locator('[data-refusal="quota_exceeded"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe('Compute units: 1 used + 1 requested, limit 1');
    // only that row says it; the space did not start
    expect(await page.locator('tr[data-space="one"] .row-error').count()).toBe(0);
    expect((await backend.store.spaces.get(ids[1]!))?.phase).toBe('stopped');

    // Create Space says why a create over maxSpaces is refused
    expect((await api.call('PATCH', '/api/v1/users/admin', { body: { quota: { maxSpaces: 2 } } })).status).toBe(200);
    await page.getByRole('link', { name: 'Create Space' }).click();
    await page.getByRole('heading', { name: 'Create Space' }).waitFor();
    await page.getByLabel('Name').fill('three');
    await page.getByLabel('Template').selectOption('example');
    await page.getByRole('button', { name: 'Create Space' }).click();
    await page.getByText('quota exceeded: spaces — 2 in use + 1 requested > limit 2 (set on the user)').waitFor();
    expect(await backend.store.spaces.getByName((await backend.store.users.getByUsername('admin'))!.id, 'three')).toBeNull();

    await page.goto(api.url + '/account');
    const compute = page.locator('table.quota-usage tr[data-quota="computeUnits"]');
    await compute.waitFor();
    expect((await compute.locator('td').allTextContents()).map((t) => t.trim())).toEqual(['1', '1', 'set on the user']);
  });

  it("Create Space shows the template's units next to usage and limits; the space page shows when a dormant space is deleted and an admin's Exempt checkbox", async () => {
    // (signed in as admin by the test above: computeUnits 1 and maxSpaces 2 set, one space running)
    expect((await api.call('PATCH', '/api/v1/users/admin', { body: { quota: { maxSpaces: null } } })).status).toBe(200);
    expect((await api.call('POST', '/api/v1/templates', { body: { name: 'dormant', job: seedJob(), volumes: seedVolumes(), deleteAfter: '720h', computeUnits: 2, storageUnits: 3 } })).status).toBe(201);

    await page.goto(api.url + '/spaces/new');
    await page.getByRole('heading', { name: 'Create Space' }).waitFor();
    await page.getByLabel('Template').selectOption('dormant');
    const units = page.locator('.template-units');
    expect((await units.locator('[data-units="computeUnits"]').textContent())?.trim()).toBe('2 compute');
    expect((await units.locator('[data-units="storageUnits"]').textContent())?.trim()).toBe('3 storage');
    const compute = units.locator('li[data-quota="computeUnits"]');
    await compute.waitFor();
    expect(await compute.textContent()).toBe('Compute units: 1 used of 1 (+2)');
    expect(await compute.getAttribute('class')).toBe('at-limit');
    expect(await units.locator('li[data-quota="maxSpaces"]').textContent()).toBe('Spaces: 2 used of no limit (+1)');

    const id = (await api.call('POST', '/api/v1/spaces', { body: { name: 'idle', template: 'dormant' } })).body.id as string;
    const deletesAt = ((await api.call('GET', `/api/v1/spaces/${id}`)).body.status as { deletesAt: string }).deletesAt;
    expect(deletesAt).toMatch(/^\d{4}-/);
    await page.goto(`${api.url}/spaces/${id}`);
    const dormancy = page.locator('dd.dormancy');
    await dormancy.getByText('Deleted if unused by').waitFor();
    expect(await dormancy.locator('time').getAttribute('datetime')).toBe(deletesAt);
    const exempt = dormancy.getByRole('checkbox', { name: 'Exempt' });
    expect(await exempt.isChecked()).toBe(false);
    await exempt.click();
    await dormancy.getByText('Exempt: never deleted as unused').waitFor();
    expect(await exempt.isChecked()).toBe(true);
    const after = (await api.call('GET', `/api/v1/spaces/${id}`)).body;
    expect(after.dormancyExempt).toBe(true);
    expect((after.status as { deletesAt: string | null }).deletesAt).toBeNull();
  });
});
