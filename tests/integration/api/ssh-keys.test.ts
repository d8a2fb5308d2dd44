/**
 * SSH public keys over the API: a user's own under /users/me/ssh-keys, anyone's for admins under
 * /users/:id/ssh-keys (others: 404), duplicates 409 naming `publicKey`, audited with the
 * fingerprint, the change announced; and a private key pasted by mistake refused without a trace:
 * not in the store, not in the answer, not in the audit log.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KnotApiError } from '../../../client';
import { closeTemporal, startHarness, type Harness } from './harness';

afterAll(closeTemporal);

let dir = '';
let n = 0;
/** A fresh key pair from ssh-keygen: the .pub line, the private key, and ssh-keygen's fingerprint. */
function keygen(type = 'ed25519', bits?: number, comment = 'alice@laptop'): { pub: string; priv: string; fingerprint: string } {
  const file = path.join(dir, `key${n++}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', comment, '-f', file], { stdio: 'pipe' });
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { pub: readFileSync(`${file}.pub`, 'utf8'), priv: readFileSync(file, 'utf8'), fingerprint };
}

/** The lines of a private key that hold key material (between the armour lines). */
const secretLines = (priv: string) => priv.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'knot-api-ssh-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['sqlite', 'redis'] as const)('SSH keys API on %s', (kind) => {
  let h: Harness;
  let alice: { token: string; id: string };
  let bob: { token: string; id: string };
  const announced: string[] = [];

  beforeAll(async () => {
    h = await startHarness(kind, { sshKeysChanged: (userId) => announced.push(userId) });
    const a = await h.user('alice');
    const b = await h.user('bob');
    alice = { token: a.token, id: a.user.id };
    bob = { token: b.token, id: b.user.id };
  });
  afterAll(async () => h?.close());
  beforeEach(() => {
    announced.length = 0;
  });

  test('a user adds, lists and removes their own keys; each change is audited and announced', async () => {
    const k = keygen();
    const added = await h.call('POST', '/api/v1/users/me/ssh-keys', { token: alice.token, body: { publicKey: k.pub } });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      id: expect.any(String),
      name: 'alice@laptop',
      type: 'ssh-ed25519',
      fingerprint: k.fingerprint,
      publicKey: k.pub.trim().split(' ').slice(0, 2).join(' '),
      createdAt: expect.any(String),
    });
    expect(added.headers.get('location')).toBe(`/api/v1/users/me/ssh-keys/${added.body.id as string}`);
    expect(announced).toEqual([alice.id]);

    const client = h.client.as(alice.token);
    const named = await client.addSshKey({ publicKey: keygen('ecdsa', 384, '').pub, name: '  work laptop ' });
    expect(named).toMatchObject({ name: 'work laptop', type: 'ecdsa-sha2-nistp384' });
    expect((await client.listSshKeys()).items.map((x) => x.id)).toEqual([added.body.id, named.id]);

    await client.removeSshKey(added.body.id as string);
    expect(announced).toEqual([alice.id, alice.id, alice.id]);
    expect((await client.listSshKeys()).items.map((x) => x.id)).toEqual([named.id]);
    const again = await h.call('DELETE', `/api/v1/users/me/ssh-keys/${added.body.id as string}`, { token: alice.token });
    expect(again.status).toBe(404);
    expect(announced).toHaveLength(3);

    const created = await h.store.audit.list({ action: 'ssh_key.create', resourceId: added.body.id as string, limit: 10 });
    expect(created.map((e) => [e.actor, e.outcome, e.detail.fingerprint])).toEqual([['alice', 'ok', k.fingerprint]]);
    const deleted = await h.store.audit.list({ action: 'ssh_key.delete', resourceId: added.body.id as string, limit: 10 });
    expect(deleted.map((e) => [e.outcome, e.detail.fingerprint])).toEqual([
      ['refused', undefined],
      ['ok', k.fingerprint],
    ]);
    expect(JSON.stringify([...created, ...deleted])).not.toContain(k.pub.split(' ')[1]);
  });

  test("a key already on the account is a 409 naming publicKey; another user may add the same key", async () => {
    const k = keygen();
    await h.client.as(alice.token).addSshKey({ publicKey: k.pub });
    const dup = await h.call('POST', '/api/v1/users/me/ssh-keys', { token: alice.token, body: { publicKey: `${k.pub.split(' ').slice(0, 2).join(' ')} other comment` } });
    expect(dup.status).toBe(409);
    expect(dup.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(dup.body.errors).toEqual([{ path: 'publicKey', message: 'already in use' }]);
    expect((await h.client.as(bob.token).addSshKey({ publicKey: k.pub })).fingerprint).toBe(k.fingerprint);
  });

  test("another user's keys are 404 to a non-admin; their own are reachable by name or id too", async () => {
    const k = await h.client.as(alice.token).addSshKey({ publicKey: keygen().pub });
    for (const who of ['alice', alice.id, 'nobody']) {
      expect((await h.call('GET', `/api/v1/users/${who}/ssh-keys`, { token: bob.token })).status).toBe(404);
      expect((await h.call('POST', `/api/v1/users/${who}/ssh-keys`, { token: bob.token, body: { publicKey: keygen().pub } })).status).toBe(404);
      expect((await h.call('DELETE', `/api/v1/users/${who}/ssh-keys/${k.id}`, { token: bob.token })).status).toBe(404);
    }
    // not bob's key: the same 404 as a key that does not exist
    expect((await h.call('DELETE', `/api/v1/users/me/ssh-keys/${k.id}`, { token: bob.token })).status).toBe(404);
    expect((await h.client.as(alice.token).listSshKeys()).items.map((x) => x.id)).toContain(k.id);
    expect((await h.client.as(bob.token).listSshKeys('bob')).items).toEqual((await h.client.as(bob.token).listSshKeys(bob.id)).items);
    expect((await h.call('GET', '/api/v1/users/me/ssh-keys', { token: null })).status).toBe(401);
  });

  test("an admin lists, adds and removes a user's keys by username or id", async () => {
    const carol = await h.user('carol');
    const k = keygen('rsa', 3072, 'carol@desk');
    const added = await h.client.addSshKey({ publicKey: k.pub }, 'carol');
    expect(added).toMatchObject({ type: 'ssh-rsa', name: 'carol@desk', fingerprint: k.fingerprint });
    expect(announced).toEqual([carol.user.id]);
    expect((await h.client.listSshKeys(carol.user.id)).items).toEqual([added]);
    expect((await h.client.as(carol.token).listSshKeys()).items).toEqual([added]);
    expect((await h.client.listSshKeys()).items).toEqual([]);
    await h.client.removeSshKey(added.id, 'carol');
    expect((await h.client.listSshKeys('carol')).items).toEqual([]);
    const audit = await h.store.audit.list({ action: 'ssh_key.delete', resourceId: added.id, limit: 10 });
    expect(audit.map((e) => [e.actor, e.detail.userId, e.detail.fingerprint])).toEqual([['admin', carol.user.id, k.fingerprint]]);
    // the user goes, the keys go with them
    await h.client.addSshKey({ publicKey: keygen().pub }, 'carol');
    await h.client.deleteUser('carol');
    expect(await h.store.sshKeys.listOfUser(carol.user.id)).toEqual([]);
  });

  test('a private key is refused with a 400 saying so; it is nowhere: store, answer, audit', async () => {
    const rsa = keygen('rsa', 2048);
    const ed = keygen();
    const pem = execFileSync('openssl', ['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], { encoding: 'utf8' });
    for (const priv of [ed.priv, rsa.priv, pem]) {
      const r = await h.call('POST', '/api/v1/users/me/ssh-keys', { token: alice.token, body: { publicKey: priv, name: 'oops' } });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(/PRIVATE key/);
      expect(r.body.detail).toMatch(/nothing was stored/);
      expect(r.body.errors).toEqual([{ path: 'publicKey', message: expect.stringMatching(/PRIVATE key/) }]);
      for (const line of secretLines(priv)) expect(r.text).not.toContain(line);
    }
    const e = await h.client
      .as(alice.token)
      .addSshKey({ publicKey: ed.priv })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KnotApiError);
    expect(announced).toEqual([]);

    const dump = await h.rawDump();
    const audit = JSON.stringify(await h.store.audit.list({ action: 'ssh_key.create', limit: 200 }));
    expect(audit).toMatch(/PRIVATE key/);
    for (const priv of [ed.priv, rsa.priv, pem]) {
      for (const line of secretLines(priv)) {
        expect(dump).not.toContain(line);
        expect(audit).not.toContain(line);
      }
    }
    expect((await h.client.as(alice.token).listSshKeys()).items.map((k) => k.name)).not.toContain('oops');
  });

  test('bad keys and bodies are 400s naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ publicKey: keygen('rsa', 1024).pub }, 'publicKey', /1024 bits/],
      [{ publicKey: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP1 old' }, 'publicKey', /obsolete/],
      [{ publicKey: `ssh-rsa ${keygen().pub.split(' ')[1]!}` }, 'publicKey', /another type/],
      [{ publicKey: 'hello world' }, 'publicKey', /not an OpenSSH public key/],
      [{ publicKey: '' }, 'publicKey', /empty/],
      [{ publicKey: 'x'.repeat(17 * 1024) }, 'publicKey', /16 KiB/],
      [{ publicKey: keygen().pub, name: 'bad\u0007name' }, 'name', /control characters/],
      [{ publicKey: keygen().pub, name: '' }, 'name', /control characters/],
      [{}, 'publicKey', /required/],
      [{ publicKey: keygen().pub, extra: 1 }, 'extra', /unknown field/],
    ];
    for (const [body, field, message] of cases) {
      const r = await h.call('POST', '/api/v1/users/me/ssh-keys', { token: alice.token, body });
      expect({ status: r.status, errors: r.body.errors }).toEqual({ status: 400, errors: [{ path: field, message: expect.stringMatching(message) }] });
    }
    expect(announced).toEqual([]);
  });
});
