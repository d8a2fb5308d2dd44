/**
 * The real `knot agent` command (built to dist/): a configuration mistake exits 2, the health check
 * answers, it links to the (fake) server, and SIGTERM ends it with 0 promptly.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { PING_PATH } from '../../../link/protocol';
import { FakeKnotServer, until } from './fake-knot-server';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const TOKEN = 'cli-test-token-0123456789';

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('KNOT_') || k.startsWith('NOMAD_PORT_')) delete env[k];
  return { ...env, ...extra };
}

describe('knot agent (the built CLI)', () => {
  let server: FakeKnotServer;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    server = await FakeKnotServer.start(TOKEN);
  }, 180_000);

  afterAll(async () => {
    const agent = child;
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      // gone before the server closes, so the link under the fake's sessions has ended
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGKILL');
      await exited;
    }
    await server?.close();
  });

  it('exits 2 naming the missing variable', () => {
    let status: number | null = null;
    let stderr = '';
    try {
      execFileSync(process.execPath, [MAIN, 'agent'], { env: cleanEnv({ KNOT_SERVER: server.url }), stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toContain('KNOT_AGENT_TOKEN');
  });

  it('answers /ping, links, and exits 0 promptly on SIGTERM', async () => {
    const proc = spawn(process.execPath, [MAIN, 'agent', '--ping-port', '0'], { env: cleanEnv({ KNOT_SERVER: server.url, KNOT_AGENT_TOKEN: TOKEN }), stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    let exit: { code: number | null; signal: string | null } | null = null;
    proc.on('exit', (code, signal) => (exit = { code, signal }));

    await until(() => /"port":\d+,"msg":"health check/.test(out), 'the health check port in the log');
    const port = Number(/"port":(\d+),"msg":"health check/.exec(out)![1]);
    expect(await get(port, PING_PATH)).toEqual({ status: 200, body: '' });
    expect((await get(port, '/metrics')).status).toBe(404);
    expect((await get(port, '/')).status).toBe(404);

    await server.connection();
    expect(out).not.toContain(TOKEN);

    const sentAt = Date.now();
    proc.kill('SIGTERM');
    await until(() => exit !== null, 'the agent to exit', 5_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - sentAt).toBeLessThan(2_500);
  });
});
