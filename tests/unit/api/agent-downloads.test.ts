/** GET /agent/ and /agent/<file>: the agent downloads, public, only the folder's own files. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../../../api/app';
import { loadConfig } from '../../../core/config';
import { createTestStore, type TestStore } from '../../support/db';

const tarball = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 251));
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let store: TestStore;
// made here, not in beforeAll: the refused paths below name the outside folder
const root = mkdtempSync(path.join(tmpdir(), 'knot-agent-dl-'));
const outside = mkdtempSync(path.join(tmpdir(), 'knot-agent-secret-'));

/** A server on an ephemeral port with the given agentRoot; closed by the caller. */
async function serve(agentRoot: string | null): Promise<{ url: string; server: Server }> {
  const app = createApp({
    store: store.store,
    config: loadConfig('', {}),
    logger: pino({ level: 'silent' }),
    lifecycle: { startOperation: () => Promise.reject(new Error('unused')), createSpace: () => Promise.reject(new Error('unused')) },
    nomad: { parseJob: async () => ({}) },
    health: { checks: {} },
    webRoot: null,
    agentRoot,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** A raw GET that sends the path exactly as given (fetch would normalise `..`). */
function rawGet(url: string, rawPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  store = await createTestStore('sqlite');
  writeFileSync(path.join(outside, 'secret.txt'), 'not for spaces');
  writeFileSync(path.join(root, 'knot-agent-linux-amd64.tar.gz'), tarball);
  writeFileSync(path.join(root, 'SHA256SUMS'), `${sha256(tarball)}  knot-agent-linux-amd64.tar.gz\n`);
  writeFileSync(path.join(root, '.hidden'), 'x');
  mkdirSync(path.join(root, 'sub'));
  writeFileSync(path.join(root, 'sub', 'inner'), 'x');
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-out'));
});

afterAll(async () => {
  await store.cleanup();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('agent downloads', () => {
  let url: string;
  let server: Server;
  beforeAll(async () => ({ url, server } = await serve(root)));
  afterAll(() => server.close());

  it('lists the plain files with size and a correct sha256, without authentication', async () => {
    for (const p of ['/agent/', '/agent']) {
      const res = await fetch(`${url}${p}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { files: { name: string; size: number; sha256: string }[] };
      const names = body.files.map((f) => f.name);
      expect(names).toEqual(['SHA256SUMS', 'knot-agent-linux-amd64.tar.gz']);
      const tgz = body.files.find((f) => f.name === 'knot-agent-linux-amd64.tar.gz')!;
      expect(tgz).toEqual({ name: 'knot-agent-linux-amd64.tar.gz', size: tarball.length, sha256: sha256(tarball) });
    }
  });

  it('serves a file byte for byte with its type, an ETag and caching headers; If-None-Match answers 304', async () => {
    const res = await fetch(`${url}/agent/knot-agent-linux-amd64.tar.gz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-length')).toBe(String(tarball.length));
    expect(res.headers.get('cache-control')).toMatch(/no-cache/);
    expect(res.headers.get('etag')).toBe(`"${sha256(tarball)}"`);
    const got = Buffer.from(await res.arrayBuffer());
    expect(sha256(got)).toBe(sha256(tarball));
    const again = await fetch(`${url}/agent/knot-agent-linux-amd64.tar.gz`, { headers: { 'If-None-Match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
    const sums = await fetch(`${url}/agent/SHA256SUMS`);
    expect(await sums.text()).toBe(`${sha256(tarball)}  knot-agent-linux-amd64.tar.gz\n`);
    const head = await fetch(`${url}/agent/SHA256SUMS`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it.each([
    '/agent/../api/v1/openapi.json',
    '/agent/..%2fpackage.json',
    '/agent/..%2f..%2fetc%2fpasswd',
    '/agent/%2e%2e/%2e%2e/etc/passwd',
    '/agent/sub/inner',
    '/agent/sub',
    '/agent/.hidden',
    '/agent/link-out',
    `/agent/${encodeURIComponent(path.join(outside, 'secret.txt'))}`,
    '/agent/nope.tar.gz',
  ])('refuses %s with a 404 problem', async (p) => {
    const res = await rawGet(url, p);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ status: 404 });
    expect(res.body).not.toContain('not for spaces');
  });

  it('answers other methods with 405 and Allow', async () => {
    const res = await fetch(`${url}/agent/SHA256SUMS`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('is in the OpenAPI document as public routes', async () => {
    const doc = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { paths: Record<string, { get?: { security: unknown[] } }> };
    expect(doc.paths['/agent/']?.get?.security).toEqual([]);
    expect(doc.paths['/agent/{file}']?.get?.security).toEqual([]);
  });
});

it('answers 404 problem+json for every /agent path when there is no agent build (agentRoot null)', async () => {
  const { url, server } = await serve(null);
  try {
    for (const p of ['/agent/', '/agent/knot-agent-linux-amd64.tar.gz']) {
      const res = await fetch(`${url}${p}`, { headers: { Accept: 'text/html' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
  } finally {
    server.close();
  }
});
