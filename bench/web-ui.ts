/**
 * The web UI in headless Chromium (Debian's, via playwright-core) against the API serving the
 * built UI, with BENCH_WEB_SPACES (1,000) spaces stored for the signed-in admin:
 *  - first rows of the Spaces page: navigation start → the first page (50 rows, or all when fewer)
 *    rendered with their actions and the event stream connected ("Live"), BENCH_WEB_LOADS (5)
 *    loads, p50 and max; on each load then "Load more" clicked → the next page's rows rendered, and
 *    a name filter in the URL (`/?name=…`, a server-side prefix) → its first rows;
 *  - step change → visible: an `operation.step` event written to the store (as an activity does)
 *    until its text is on the page (a MutationObserver stamps the time), BENCH_WEB_STEPS (100)
 *    steps, p50/p95, on the newest space (the top row);
 *  - the gzipped size of the JavaScript and CSS the first load fetches (and, apart, of the chunks
 *    fetched on demand: the terminal, the template editor).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { issueToken } from '../api/auth';
import { webRoot } from '../api/web-app';
import { newId } from '../core/names';
import { startBackend } from './backend';
import { insertSpaces } from './bulk-spaces';
import { envInt } from './env';
import { benchLine, note } from './report';
import { seedTemplate, seedTemplateInput, seedUser } from './seed';
import { round, summarize } from './stats';

/** Rows a page of the Spaces page brings (PAGE_SIZE in web/src/spaces-store.ts). */
const PAGE_SIZE = 50;

/**
 * Gzipped sizes of what the first load fetches — the assets index.html names (its script, module
 * preloads and stylesheets) — and, apart, of the chunks loaded later on demand (terminal, editor).
 */
function bundleSizes(root: string): { jsGzipKb: number; cssGzipKb: number; lazyJsGzipKb: number } {
  const html = readFileSync(path.join(root, 'index.html'), 'utf8');
  const firstLoad = new Set([...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!));
  let js = 0;
  let css = 0;
  let lazyJs = 0;
  for (const f of readdirSync(path.join(root, 'assets'))) {
    const gz = gzipSync(readFileSync(path.join(root, 'assets', f)), { level: 9 }).length;
    if (!firstLoad.has(f)) lazyJs += f.endsWith('.js') ? gz : 0;
    else if (f.endsWith('.js')) js += gz;
    else if (f.endsWith('.css')) css += gz;
  }
  return { jsGzipKb: round(js / 1024), cssGzipKb: round(css / 1024), lazyJsGzipKb: round(lazyJs / 1024) };
}

export async function runWebUi(): Promise<string> {
  const root = webRoot();
  if (!root) throw new Error('the web UI is not built: npm run build');
  const count = envInt('BENCH_WEB_SPACES', 1000);
  const loads = envInt('BENCH_WEB_LOADS', 5);
  const steps = envInt('BENCH_WEB_STEPS', 100);
  const b = await startBackend({ api: true, worker: false });
  const browser = await chromium.launch({
    executablePath: process.env.KNOT_TEST_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const user = await seedUser(b.store, 'webbench', 'admin');
    const { secret } = await issueToken(b.store, { id: newId(Date.now()), userId: user.id, name: 'bench', expiresAt: null }, Date.now());
    const tpl = await seedTemplate(b.store, seedTemplateInput('debian'));
    const ids = await insertSpaces(b.store, { count, ownerId: user.id, templateId: tpl.id, phase: () => 'stopped' });
    const base = b.api!.url;
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(base + '/');
    await page.getByText('API token').click();
    await page.getByLabel('Token', { exact: true }).fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();

    // rows rendered with their actions (and the stream connected): what "visible" means here
    const rowsShown = (n: number) =>
      page.waitForFunction((m) => document.querySelectorAll('tbody tr').length >= m && document.querySelectorAll('tbody button').length >= m && document.querySelector('.live-up') !== null, n, {
        polling: 'raf',
      });
    const firstPage = Math.min(count, PAGE_SIZE);
    // bulk0 … bulk<count-1>: `bulk1` names about a ninth of them (bulk1, bulk10…, bulk100…)
    const namePrefix = 'bulk1';
    const nameShown = () =>
      page.waitForFunction(
        (p) => document.querySelector('tbody tr') !== null && Array.from(document.querySelectorAll('tbody tr')).every((r) => (r.getAttribute('data-space') ?? '').startsWith(p)) && document.querySelector('.live-up') !== null,
        namePrefix,
        { polling: 'raf' },
      );
    const firstRows: number[] = [];
    const nextPage: number[] = [];
    const filtered: number[] = [];
    for (let i = 0; i < loads; i++) {
      await page.goto(base + '/');
      await rowsShown(firstPage);
      const ms = await page.evaluate(() => performance.now());
      firstRows.push(ms);
      let more = NaN;
      if (count > PAGE_SIZE) {
        const t0 = Date.now();
        await page.getByRole('button', { name: 'Load more' }).click();
        await rowsShown(Math.min(count, 2 * PAGE_SIZE));
        more = Date.now() - t0;
        nextPage.push(more);
      }
      await page.goto(`${base}/?name=${namePrefix}`);
      await nameShown();
      const f = await page.evaluate(() => performance.now());
      filtered.push(f);
      note(`web-ui: load ${i + 1}: first ${firstPage} rows after ${Math.round(ms)} ms, next page ${Math.round(more)} ms, ?name=${namePrefix} ${Math.round(f)} ms`);
    }
    await page.goto(base + '/');
    await rowsShown(firstPage);

    // the newest space: the top row
    const target = ids[ids.length - 1]!;
    const opId = newId(Date.now());
    await page.evaluate(() => {
      const w = window as unknown as { __seen: Record<string, number> };
      w.__seen = {};
      new MutationObserver(() => {
        for (const el of Array.from(document.querySelectorAll('.step'))) {
          const t = el.textContent ?? '';
          if (t.startsWith('bench-step-') && !(t in w.__seen)) w.__seen[t] = Date.now();
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const latencies: number[] = [];
    for (let i = 0; i < steps; i++) {
      const name = `bench-step-${i}`;
      const t0 = Date.now();
      await b.store.events.append({ type: 'operation.step', spaceId: target, operationId: opId, step: name, stepStatus: 'running' }, t0);
      const seenAt = await page.waitForFunction((s) => (window as unknown as { __seen: Record<string, number> }).__seen[s], name, { polling: 10, timeout: 10_000 });
      latencies.push(Number(await seenAt.jsonValue()) - t0);
    }
    const t = summarize(firstRows);
    const s = summarize(latencies);
    const sizes = bundleSizes(root);
    const line = benchLine('web-ui', {
      spaces: count,
      first_rows_p50_ms: round(t.p50),
      first_rows_max_ms: round(Math.max(...firstRows)),
      ...(nextPage.length ? { next_page_p50_ms: round(summarize(nextPage).p50) } : {}),
      name_filter_p50_ms: round(summarize(filtered).p50),
      step_visible_p50_ms: round(s.p50),
      step_visible_p95_ms: round(s.p95),
      steps,
      js_gzip_kb: sizes.jsGzipKb,
      css_gzip_kb: sizes.cssGzipKb,
      lazy_js_gzip_kb: sizes.lazyJsGzipKb,
    });
    console.log(line);
    return line;
  } finally {
    await browser.close();
    await b.close();
  }
}
