/**
 * `npm start` as a user runs it: `knot dev` from dist/ on free ports and a fresh data dir brings up
 * the API, the worker, the Temporal dev server (UI) and the Nomad sandbox, prints how to reach
 * them, and stops everything on Ctrl-C (SIGINT).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { KnotClient } from '../../client';

import { until as waitUntil } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');

/** the probe's own failures (connection refused while starting) count as not yet */
const until = <T>(what: string, probe: () => Promise<T | null>, timeoutMs: number) => waitUntil(what, probe, timeoutMs, 100);

it('knot dev starts every part, answers /health, and stops cleanly on SIGINT', async () => {
  expect(existsSync(path.join(ROOT, 'dist/cli/main.js'))).toBe(true);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-dev-e2e-'));
  const [api, temporal, ui, nomad] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'dev', '--temporal-port', String(temporal), '--nomad-port', String(nomad)], {
    cwd: dir,
    env: { ...process.env, KNOT_SERVER_LISTEN: `127.0.0.1:${api}`, KNOT_SERVER_TEMPORAL_UI_PORT: String(ui), KNOT_LOG_LEVEL: 'warn', KNOT_WORKFLOW_BUNDLE: process.env.KNOT_TEST_WORKFLOW_BUNDLE ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const health = await until(
      '/health',
      async () => {
        const res = await fetch(`http://127.0.0.1:${api}/health`);
        return res.status === 200 ? ((await res.json()) as { checks: Record<string, string> }) : null;
      },
      90_000,
    );
    expect(health.checks).toMatchObject({ store: 'ok', temporal: 'ok' });
    expect((await fetch(`http://127.0.0.1:${ui}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${nomad}/v1/jobs`)).status).toBe(200);
    await until('the banner', async () => (out.includes('Press Ctrl-C to stop.') ? true : null), 10_000);
    expect(out).toContain(`http://127.0.0.1:${api}`);
    expect(out).toContain(`http://127.0.0.1:${ui}`);
    expect(out).toMatch(/simulated Nomad API, no workloads run/);
    const token = /Admin token \(shown once, keep it\): (\S+)/.exec(out)?.[1];
    expect(token).toBeDefined();
    const whoami = await new KnotClient({ url: `http://127.0.0.1:${api}`, token: token! }).whoami();
    expect(whoami.user.username).toBe('admin');
    expect(existsSync(path.join(dir, '.data/knot.db'))).toBe(true);
    expect(existsSync(path.join(dir, '.data/temporal.db'))).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${api}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${nomad}/v1/jobs`)).rejects.toThrow();
    // the Temporal dev server child is gone too
    const refused = await new Promise<boolean>((resolve) => {
      const sock = net.connect(temporal, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(false)));
      sock.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
