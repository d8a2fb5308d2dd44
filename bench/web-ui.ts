/**
 * The web UI in headless Chromium (Debian's, via playwright-core) against the API serving the
 * built UI, with BENCH_WEB_SPACES (1,000) spaces stored for the signed-in admin:
 *  - time to interactive of the Spaces page: navigation start → every row rendered with its
 *    actions and the event stream connected ("Live"), BENCH_WEB_LOADS (5) loads, p50 and max;
 *  - step change → visible: an `operation.step` event written to the store (as an activity does)
 *    until its text is on the page (a MutationObserver stamps the time), BENCH_WEB_STEPS (100)
 *    steps, p50/p95;
 *  - the gzipped size of the JavaScript and CSS the first load fetches.
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

function bundleSizes(root: string): { jsGzipKb: number; cssGzipKb: number } {
  const assets = path.join(root, 'assets');
  let js = 0;
  let css = 0;
  for (const f of readdirSync(assets)) {
    const gz = gzipSync(readFileSync(path.join(assets, f)), { level: 9 }).length;
    if (f.endsWith('.js')) js += gz;
    else if (f.endsWith('.css')) css += gz;
  }
  return { jsGzipKb: round(js / 1024), cssGzipKb: round(css / 1024) };
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

    const tti: number[] = [];
    for (let i = 0; i < loads; i++) {
      await page.goto(base + '/');
      await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length === n && document.querySelectorAll('tbody button').length >= n && document.querySelector('.live-up') !== null, count, { polling: 'raf' });
      const ms = await page.evaluate(() => performance.now());
      tti.push(ms);
      note(`web-ui: load ${i + 1}: interactive after ${Math.round(ms)} ms`);
    }

    const target = ids[0]!;
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
    const t = summarize(tti);
    const s = summarize(latencies);
    const sizes = bundleSizes(root);
    const line = benchLine('web-ui', {
      spaces: count,
      tti_p50_ms: round(t.p50),
      tti_max_ms: round(Math.max(...tti)),
      step_visible_p50_ms: round(s.p50),
      step_visible_p95_ms: round(s.p95),
      steps,
      js_gzip_kb: sizes.jsGzipKb,
      css_gzip_kb: sizes.cssGzipKb,
    });
    console.log(line);
    return line;
  } finally {
    await browser.close();
    await b.close();
  }
}
