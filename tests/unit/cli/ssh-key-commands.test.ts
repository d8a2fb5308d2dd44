/** `knot ssh-key`: a private key is refused before anything is sent; remove finds a key by id, fingerprint or name. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { findKey, localRefusal, registerSshKeyCommands } from '../../../cli/ssh-key-commands';
import { KnotApiError, type SshKey } from '../../../client';

let dir = '';
let keyFile = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'knot-cli-ssh-'));
  keyFile = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', keyFile], { stdio: 'pipe' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('localRefusal', () => {
  it('refuses a private key, pointing at the .pub next to it', () => {
    const text = readFileSync(keyFile, 'utf8');
    expect(localRefusal(keyFile, text)).toBe(`${keyFile} holds a PRIVATE key: nothing was sent. Add the public key instead (did you mean ${keyFile}.pub?), and keep the private key to yourself`);
    expect(localRefusal('-', text)).toMatch(/^stdin holds a PRIVATE key: nothing was sent/);
  });

  it('refuses oversized input and lets a public key through', () => {
    expect(localRefusal('big.pub', 'x'.repeat(17 * 1024))).toMatch(/larger than 16 KiB/);
    expect(localRefusal(`${keyFile}.pub`, readFileSync(`${keyFile}.pub`, 'utf8'))).toBeNull();
  });
});

describe('findKey', () => {
  const key = (id: string, name: string, fingerprint: string): SshKey => ({ id, name, fingerprint, type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA', createdAt: '2026-01-01T00:00:00.000Z' });
  const keys = [key('k1', 'laptop', 'SHA256:aaa'), key('k2', 'desk', 'SHA256:bbb'), key('k3', 'desk', 'SHA256:ccc')];

  it('finds by id, fingerprint (with or without SHA256:) or a name only one key has', () => {
    expect(findKey(keys, 'k2').id).toBe('k2');
    expect(findKey(keys, 'SHA256:ccc').id).toBe('k3');
    expect(findKey(keys, 'aaa').id).toBe('k1');
    expect(findKey(keys, 'laptop').id).toBe('k1');
  });

  it('refuses an ambiguous name and answers not found for an unknown key', () => {
    expect(() => findKey(keys, 'desk')).toThrow(/2 keys are named 'desk'/);
    let e: unknown;
    try {
      findKey(keys, 'nope');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(KnotApiError);
    expect((e as KnotApiError).status).toBe(404);
  });
});

describe('knot ssh-key add', () => {
  const requests: { method: string; url: string; body: string }[] = [];
  let server: http.Server;
  const env = { ...process.env };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body });
        const parsed = JSON.parse(body || '{}') as { name?: string };
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'k1', name: parsed.name ?? 'me@laptop', type: 'ssh-ed25519', fingerprint: 'SHA256:x', publicKey: 'ssh-ed25519 AAAA', createdAt: '2026-01-01T00:00:00.000Z' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.KNOT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.KNOT_TOKEN = 'knot_test';
    process.env.NO_COLOR = '1';
  });
  afterAll(async () => {
    process.env = env;
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
  });

  /** Runs `knot ssh-key …` in this process: its exit code (process.exit is caught), stdout and stderr. */
  async function knot(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    const exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw Object.assign(new Error('exit'), { exitCode: code });
    });
    const program = new Command().exitOverride();
    registerSshKeyCommands(program);
    let code = 0;
    try {
      await program.parseAsync(['node', 'knot', 'ssh-key', ...args]);
    } catch (e) {
      code = Number((e as { exitCode?: number }).exitCode ?? 99);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      exit.mockRestore();
    }
    return { code, out, err };
  }

  it('refuses a private key file with exit code 1 and sends nothing', async () => {
    const r = await knot('add', keyFile);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/holds a PRIVATE key: nothing was sent/);
    expect(requests).toEqual([]);
  });

  it('sends a public key with its name', async () => {
    const r = await knot('add', `${keyFile}.pub`, '--name', 'laptop');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/added ssh-ed25519 key 'laptop'/);
    expect(requests.map((q) => [q.method, q.url])).toEqual([['POST', '/api/v1/users/me/ssh-keys']]);
    expect(JSON.parse(requests[0]!.body)).toEqual({ publicKey: readFileSync(`${keyFile}.pub`, 'utf8'), name: 'laptop' });
  });
});
