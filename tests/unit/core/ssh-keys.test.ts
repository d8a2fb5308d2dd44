/** Users' SSH public keys: accepted types, fingerprints as ssh-keygen prints them, refusals that never echo the input. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorType, isKnotError, type KnotError } from '../../../core/errors';
import { defaultSshKeyName, looksLikePrivateKey, MAX_SSH_KEY_INPUT, parseSshPublicKey, PRIVATE_KEY_MESSAGE, sshKeyBlobFingerprint } from '../../../core/ssh-keys';

let dir = '';

/** A key made by ssh-keygen: the .pub line, the private key text and `ssh-keygen -lf`'s fingerprint. */
function keygen(type: string, bits?: number, comment = 'alice@laptop'): { pub: string; priv: string; fingerprint: string } {
  const file = path.join(dir, `${type}-${bits ?? 0}-${Math.random().toString(36).slice(2)}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', comment, '-f', file], { stdio: 'pipe' });
  const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' });
  return { pub: readFileSync(`${file}.pub`, 'utf8'), priv: readFileSync(file, 'utf8'), fingerprint: listed.split(' ')[1] ?? '' };
}

function refusal(input: string): KnotError {
  try {
    parseSshPublicKey(input);
  } catch (e) {
    if (!isKnotError(e)) throw e;
    expect(e.type).toBe(ErrorType.Validation);
    expect(e.errors.map((f) => f.path)).toEqual(['publicKey']);
    return e;
  }
  throw new Error('expected the key to be refused');
}

/** The wire-format blob of an ed25519-like key with this embedded type (for mismatches). */
function blobOf(...strings: (string | Buffer)[]): string {
  return Buffer.concat(
    strings.map((s) => {
      const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    }),
  ).toString('base64');
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'knot-ssh-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseSshPublicKey', () => {
  it('accepts an ed25519 key with the fingerprint ssh-keygen -lf prints, normalised, comment kept', () => {
    const k = keygen('ed25519');
    const parsed = parseSshPublicKey(k.pub);
    expect(k.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(parsed.fingerprint).toBe(k.fingerprint);
    expect(parsed.type).toBe('ssh-ed25519');
    expect(parsed.publicKey).toBe(k.pub.trim().split(' ').slice(0, 2).join(' '));
    expect(parsed.comment).toBe('alice@laptop');
    expect(parsed.bits).toBe(256);
  });

  it('accepts RSA 3072 and refuses RSA 1024, naming the size', () => {
    const big = keygen('rsa', 3072);
    const parsed = parseSshPublicKey(big.pub);
    expect(parsed).toMatchObject({ type: 'ssh-rsa', bits: 3072, fingerprint: big.fingerprint });
    const small = keygen('rsa', 1024);
    const e = refusal(small.pub);
    expect(e.message).toMatch(/1024 bits/);
    expect(e.message).toMatch(/at least 2048/);
  });

  it.each([256, 384, 521])('accepts ECDSA on nistp%i with its curve size', (bits) => {
    const k = keygen('ecdsa', bits);
    expect(parseSshPublicKey(k.pub)).toMatchObject({ type: `ecdsa-sha2-nistp${bits}`, bits, fingerprint: k.fingerprint });
  });

  it('accepts security-key types (ed25519-sk, ecdsa-sk) from their wire format', () => {
    const ed = `sk-ssh-ed25519@openssh.com ${blobOf('sk-ssh-ed25519@openssh.com', Buffer.alloc(32, 1), 'ssh:')} yubikey`;
    expect(parseSshPublicKey(ed)).toMatchObject({ type: 'sk-ssh-ed25519@openssh.com', comment: 'yubikey' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 2)]);
    const ec = `sk-ecdsa-sha2-nistp256@openssh.com ${blobOf('sk-ecdsa-sha2-nistp256@openssh.com', 'nistp256', point, 'ssh:')}`;
    expect(parseSshPublicKey(ec)).toMatchObject({ type: 'sk-ecdsa-sha2-nistp256@openssh.com', bits: 256, comment: '' });
  });

  it('takes surrounding blank lines, CRLF and a comment with spaces', () => {
    const k = keygen('ed25519', undefined, 'my work laptop');
    expect(parseSshPublicKey(`\r\n  ${k.pub.trim()}\r\n\r\n`)).toMatchObject({ comment: 'my work laptop', fingerprint: k.fingerprint });
  });

  it('refuses a private key, saying so and that nothing was stored, without echoing it', () => {
    const k = keygen('ed25519');
    const rsa = keygen('rsa', 2048);
    const pem = execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519'], { encoding: 'utf8' });
    const putty = 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIB\nPrivate-Lines: 1\nAAAAIBsecretsecretsecret\n';
    const pkcs1 = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecret\n-----END RSA PRIVATE KEY-----\n';
    const ec = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIsecret\n-----END EC PRIVATE KEY-----\n';
    const dsa = '-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQsecret\n-----END DSA PRIVATE KEY-----\n';
    for (const priv of [k.priv, rsa.priv, pem, putty, pkcs1, ec, dsa, `${k.pub}${k.priv}`]) {
      expect(looksLikePrivateKey(priv)).toBe(true);
      const e = refusal(priv);
      expect(e.message).toContain(PRIVATE_KEY_MESSAGE);
      expect(e.message).toMatch(/private key/i);
      expect(e.message).toMatch(/nothing was stored/);
      const body = priv.split('\n').filter((l) => !l.startsWith('-----')).sort((x, y) => y.length - x.length)[0] ?? '';
      expect(body.length).toBeGreaterThanOrEqual(12);
      expect(JSON.stringify(e.errors) + e.message).not.toContain(body.slice(0, 12));
    }
    // even past the size limit it is called a private key
    expect(refusal(`${k.priv}${'x'.repeat(MAX_SSH_KEY_INPUT)}`).message).toContain('PRIVATE key');
  });

  it('refuses ssh-dss as obsolete, and unknown types without echoing them', () => {
    expect(refusal('ssh-dss AAAAB3NzaC1kc3MAAACBAP1 me').message).toMatch(/obsolete/);
    const e = refusal('supersecretvalue1234 AAAA');
    expect(e.message).toMatch(/not an OpenSSH public key/);
    expect(e.message).not.toContain('supersecretvalue1234');
  });

  it('refuses a blob whose embedded type or curve differs from the declared one', () => {
    const k = keygen('ed25519');
    const data = k.pub.split(' ')[1]!;
    expect(refusal(`ssh-rsa ${data}`).message).toMatch(/another type than the declared 'ssh-rsa' \('ssh-ed25519'\)/);
    const p384 = keygen('ecdsa', 384).pub.split(' ')[1]!;
    expect(refusal(`ecdsa-sha2-nistp256 ${p384}`).message).toMatch(/another type/);
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 2)]);
    expect(refusal(`ecdsa-sha2-nistp384 ${blobOf('ecdsa-sha2-nistp384', 'nistp256', point)}`).message).toMatch(/another curve/);
  });

  it('refuses truncated, corrupted, padded-out or non-base64 key data', () => {
    const data = keygen('ed25519').pub.split(' ')[1]!;
    const cut = Buffer.from(data, 'base64').subarray(0, 40).toString('base64');
    expect(refusal(`ssh-ed25519 ${cut}`).message).toMatch(/not a valid ssh-ed25519 key/);
    const longer = Buffer.concat([Buffer.from(data, 'base64'), Buffer.from([0, 0, 0])]).toString('base64');
    expect(refusal(`ssh-ed25519 ${longer}`).message).toMatch(/bytes after the key/);
    expect(refusal(`ssh-ed25519 ${data.slice(0, -3)}`).message).toMatch(/base64/);
    expect(refusal('ssh-ed25519 not*base64!').message).toMatch(/base64/);
    expect(refusal('ssh-ed25519').message).toMatch(/base64/);
    expect(refusal(`ssh-ed25519 ${blobOf('x'.repeat(5))}`).message).toMatch(/another type/);
    expect(refusal(`ssh-ed25519 ${Buffer.from([0xff, 0xff, 0xff, 0xff, 1]).toString('base64')}=`).message).toMatch(/base64|not an SSH public key/);
  });

  it('refuses empty input, several keys, authorized_keys options, the SSH2 format and oversized input', () => {
    const a = keygen('ed25519').pub;
    const b = keygen('ed25519').pub;
    expect(refusal('  \n ').message).toMatch(/empty/);
    expect(refusal(`${a}${b}`).message).toMatch(/2 lines: add one key at a time/);
    expect(refusal(`from="10.0.0.1" ${a}`).message).toMatch(/options/);
    expect(refusal('---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----').message).toMatch(/ssh-keygen -i/);
    expect(refusal(`${a.trim()} ${'c'.repeat(MAX_SSH_KEY_INPUT)}`).message).toMatch(/16 KiB/);
  });
});

describe('sshKeyBlobFingerprint and defaultSshKeyName', () => {
  it('is sha256 of the blob, base64 without padding', () => {
    expect(sshKeyBlobFingerprint(Buffer.from(''))).toBe('SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU');
  });

  it('names a key by its comment without control characters, else by its type', () => {
    expect(defaultSshKeyName('  alice@laptop ', 'ssh-ed25519')).toBe('alice@laptop');
    expect(defaultSshKeyName('a\u0007b', 'ssh-ed25519')).toBe('a b');
    expect(defaultSshKeyName('', 'ssh-rsa')).toBe('ssh-rsa');
    expect(defaultSshKeyName('x'.repeat(300), 'ssh-rsa')).toHaveLength(100);
  });
});
