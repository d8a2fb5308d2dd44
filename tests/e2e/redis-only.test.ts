/**
 * Seed 001's "Without MySQL — Redis" configuration as a user runs it: `knot dev` with a knot.yml
 * that enables only Redis keeps everything in Redis (no SQLite file appears), says so in its
 * banner and /health, and a template, a space and its operations survive a restart of knot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { freePort } from '../../temporal/dev-server';
import { KnotClient } from '../../client';
import { createRedisStore } from '../../store/redis';
import { until as waitUntil } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');
const EXAMPLE = path.join(ROOT, 'examples/templates/debian');
const until = <T>(what: string, probe: () => Promise<T | null>, timeoutMs: number) => waitUntil(what, probe, timeoutMs, 100);

interface RunningKnot {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function knotDev(dir: string, ports: { api: number; temporal: number; ui: number; nomad: number }): RunningKnot {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'dev', '--temporal-port', String(ports.temporal), '--nomad-port', String(ports.nomad)], {
    cwd: dir,
    env: { ...process.env, KNOT_SERVER_LISTEN: `127.0.0.1:${ports.api}`, KNOT_SERVER_TEMPORAL_UI_PORT: String(ports.ui), KNOT_LOG_LEVEL: 'warn', KNOT_WORKFLOW_BUNDLE: process.env.KNOT_TEST_WORKFLOW_BUNDLE ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

it('knot dev on the seed\'s Redis-only knot.yml keeps everything in Redis and survives a restart', async () => {
  const url = new URL(process.env.KNOT_TEST_REDIS!);
  const prefix = `knot-e2e-${randomBytes(5).toString('hex')}:`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-redis-only-'));
  // seed 001, "Without MySQL — Redis": no mysql section, no sqlite section
  writeFileSync(
    path.join(dir, 'knot.yml'),
    ['log:', '  level: warn', 'server:', '  redis:', '    enabled: true', `    host: "${url.hostname}:${url.port}"`, '    password: ""', '    db: 0', `    prefix: "${prefix}"`, ''].join('\n'),
  );
  const ports = { api: await freePort(), temporal: await freePort(), ui: await freePort(), nomad: await freePort() };
  const base = `http://127.0.0.1:${ports.api}`;
  const healthy = () =>
    until(
      '/health',
      async () => {
        const res = await fetch(`${base}/health`).catch(() => null);
        return res?.status === 200 ? ((await res.json()) as { store?: string; checks: Record<string, string> }) : null;
      },
      90_000,
    );
  let knot: RunningKnot | null = knotDev(dir, ports);
  try {
    const health = await healthy();
    expect(health.store).toBe('redis');
    expect(health.checks).toMatchObject({ store: 'ok', temporal: 'ok' });
    await until('the banner', async () => (knot!.output().includes('Press Ctrl-C to stop.') ? true : null), 10_000);
    expect(knot.output()).toMatch(/Store\s+redis /);
    const token = /Admin token \(shown once, keep it\): (\S+)/.exec(knot.output())?.[1];
    expect(token).toBeDefined();
    const client = new KnotClient({ url: base, token: token! });

    await client.createTemplate({ name: 'debian', job: readFileSync(path.join(EXAMPLE, 'job.nomad.hcl'), 'utf8'), volumes: readFileSync(path.join(EXAMPLE, 'volumes.yaml'), 'utf8') });
    const space = await client.createSpace({ name: 'mytest', template: 'debian' });
    const started = await client.startSpace(space.id);
    const done = await until('the start', async () => {
      const op = await client.getOperation(started.operation.id);
      return op.status === 'pending' || op.status === 'running' ? null : op;
    }, 60_000);
    expect(done.status).toBe('succeeded');
    const before = await client.spaceOperations(space.id);

    knot.child.kill('SIGINT');
    expect(await knot.exited).toBe(0);
    // nothing of knot's data went to a file: only the Temporal dev server's database is on disk, and
    // the encryption key knot dev keeps when knot.yml names none (a secret of the installation, not data)
    const kept = [path.join('.data', 'encrypt.key')];
    expect(filesUnder(dir).filter((f) => f !== 'knot.yml' && !kept.includes(f) && !f.startsWith(path.join('.data', 'temporal.db')))).toEqual([]);
    expect(existsSync(path.join(dir, '.data', 'knot.db'))).toBe(false);

    // knot again, on the same Redis: everything is still there (and no new admin token is printed)
    knot = knotDev(dir, ports);
    await healthy();
    await until('the banner', async () => (knot!.output().includes('Press Ctrl-C to stop.') ? true : null), 10_000);
    expect(knot.output()).not.toMatch(/shown once/);
    expect((await client.getTemplate('debian')).version).toBe('1.0.0');
    const again = await client.getSpace('mytest');
    expect(again).toMatchObject({ id: space.id, name: 'mytest', status: { phase: 'running', appliedVersion: '1.0.0' } });
    const after = await client.spaceOperations(space.id);
    expect(after.items.map((o) => [o.id, o.type, o.status])).toEqual(before.items.map((o) => [o.id, o.type, o.status]));
    expect(after.items.map((o) => o.type).sort()).toEqual(['create', 'start']);
    expect((await client.getOperation(started.operation.id)).steps.length).toBeGreaterThan(0);
    knot.child.kill('SIGINT');
    expect(await knot.exited).toBe(0);
    knot = null;
  } finally {
    if (knot && knot.child.exitCode === null) knot.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    const redis = new Redis({ host: url.hostname, port: Number(url.port), lazyConnect: true });
    await redis.connect();
    const store = createRedisStore(redis, { prefix, ownsConnection: true });
    await store.migrateDown();
    await store.close();
  }
});
