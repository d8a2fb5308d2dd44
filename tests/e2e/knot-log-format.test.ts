/**
 * What `knot server` writes, as a process manager or a pipe sees it (stdout is not a terminal): JSON
 * lines only on stdout, the person-facing admin token on stderr, and no secret in either; with
 * `log.format: pretty` the same process writes readable lines instead. Runs dist/ (npm run build).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { until } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli/main.js');

interface Output {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs `knot server` until it has listened and answered one request carrying a secret, then SIGTERM. */
async function runServer(extraEnv: Record<string, string>): Promise<Output> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-log-format-'));
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'server'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KNOT_LOG_LEVEL: 'info',
      KNOT_SERVER_LISTEN: `127.0.0.1:${port}`,
      KNOT_SERVER_TEMPORAL_ADDRESS: process.env.KNOT_TEST_TEMPORAL_ADDRESS!,
      KNOT_SERVER_NOMAD_ADDR: 'http://127.0.0.1:9',
      KNOT_SERVER_DATA_DIR: path.join(dir, '.data'),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Output = { stdout: '', stderr: '', code: null };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until('API listening', () => (child.exitCode !== null ? Promise.reject(new Error(out.stderr)) : out.stdout.includes('API listening')), 60_000);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/whoami`, { headers: { authorization: 'Bearer knot_not-a-real-token-but-secret' } });
    expect(res.status).toBe(401);
    await until('the request line', () => /GET \/api\/v1\/whoami|"url":"\/api\/v1\/whoami"/.test(out.stdout), 10_000);
    child.kill('SIGTERM');
    out.code = await exited;
    return out;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(() => {
  expect(existsSync(CLI)).toBe(true);
});

it('writes JSON lines on a stdout that is not a terminal, and the admin token on stderr only', async () => {
  const out = await runServer({});
  expect(out.code).toBe(0);
  const lines = out.stdout.trimEnd().split('\n');
  const entries = lines.map((l) => JSON.parse(l) as { level: number; time: number; msg: string; req?: { url: string }; res?: { statusCode: number } });
  for (const e of entries) expect(e).toEqual(expect.objectContaining({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) }));
  expect(entries.map((e) => e.msg)).toEqual(expect.arrayContaining(['store open', 'API listening', 'shutting down']));
  expect(entries.find((e) => e.req?.url === '/api/v1/whoami')?.res?.statusCode).toBe(401);

  const token = /Admin token \(shown once, keep it\): (\S+)/.exec(out.stderr)?.[1];
  expect(token).toMatch(/^knot_/);
  expect(out.stdout).not.toContain(token);
  expect(out.stdout + out.stderr).not.toContain('knot_not-a-real-token-but-secret');
});

it('writes readable lines with log.format: pretty, even into a pipe', async () => {
  const out = await runServer({ KNOT_LOG_FORMAT: 'pretty', KNOT_BOOTSTRAP_TOKEN: 'knot_bootstrap-secret-0123456789', NO_COLOR: '1' });
  expect(out.code).toBe(0);
  const lines = out.stdout.trimEnd().split('\n');
  for (const l of lines) expect(() => JSON.parse(l)).toThrow();
  expect(out.stdout).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: API listening url=http:\/\/127\.0\.0\.1:\d+$/m);
  expect(out.stdout).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: GET \/api\/v1\/whoami 401 \d+ ms$/m);
  expect(out.stdout + out.stderr).not.toMatch(/knot_bootstrap-secret|knot_not-a-real-token-but-secret/);
});
