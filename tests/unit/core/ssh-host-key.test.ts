/** A space's SSH host key, derived from server.encrypt: stable, per space, readable by ssh2 and OpenSSH. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';
import { generateKey } from '../../../core/crypto';
import { deriveSshHostKey, knownHostsLine, parseSshHostAlias, sshFingerprint, sshHostAlias } from '../../../core/ssh-host-key';

const KEY = Buffer.alloc(32, 7).toString('base64');
const SPACE = '01J8ZQ6C5V0000000000000000';

describe('deriveSshHostKey', () => {
  it('gives the same key for the same space and server key', () => {
    const a = deriveSshHostKey(KEY, SPACE);
    const b = deriveSshHostKey(KEY, SPACE);
    expect(a).toEqual(b);
    expect(a.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$/);
    expect(a.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
  });

  it('gives another key for another space or another server key', () => {
    const a = deriveSshHostKey(KEY, SPACE);
    expect(deriveSshHostKey(KEY, `${SPACE.slice(0, -1)}1`).publicKey).not.toBe(a.publicKey);
    expect(deriveSshHostKey(generateKey(), SPACE).publicKey).not.toBe(a.publicKey);
  });

  it('refuses to derive without a server key', () => {
    expect(() => deriveSshHostKey('', SPACE)).toThrow(/server.encrypt/);
  });

  it('is a private key ssh2 loads, whose public half and signatures match', () => {
    const k = deriveSshHostKey(KEY, SPACE);
    const parsed = utils.parseKey(k.privateKey);
    if (parsed instanceof Error) throw parsed;
    expect(parsed.type).toBe('ssh-ed25519');
    expect(`ssh-ed25519 ${parsed.getPublicSSH().toString('base64')}`).toBe(k.publicKey);
    const data = Buffer.from('knot');
    const pub = utils.parseKey(k.publicKey);
    if (pub instanceof Error) throw pub;
    expect(pub.verify(data, parsed.sign(data))).toBe(true);
  });

  const keygen = existsSync('/usr/bin/ssh-keygen') ? it : it.skip;
  keygen('is what OpenSSH reads too: ssh-keygen derives the same public key and fingerprint', () => {
    const k = deriveSshHostKey(KEY, SPACE);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-hostkey-'));
    try {
      const file = path.join(dir, 'key');
      writeFileSync(file, k.privateKey, { mode: 0o600 });
      const pub = execFileSync('/usr/bin/ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
      expect(pub.split(' ').slice(0, 2).join(' ')).toBe(k.publicKey);
      const fp = execFileSync('/usr/bin/ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' });
      expect(fp.split(' ')[1]).toBe(k.fingerprint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('sshFingerprint and knownHostsLine', () => {
  const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl some comment';
  expect(sshFingerprint(pub)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  expect(knownHostsLine('dev.knot', pub)).toBe('dev.knot ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl');
  expect(() => sshFingerprint('nonsense')).toThrow(/not an SSH public key/);
});

test('SSH host aliases name the space, and the owner when it is not the caller', () => {
  expect(sshHostAlias('dev', 'alice', 'alice')).toBe('dev.knot');
  expect(sshHostAlias('dev', 'bob', 'alice')).toBe('dev.bob.knot');
  expect(parseSshHostAlias('dev.knot')).toEqual({ space: 'dev' });
  expect(parseSshHostAlias('dev.bob.knot')).toEqual({ space: 'dev', owner: 'bob' });
  expect(parseSshHostAlias('dev')).toEqual({ space: 'dev' });
  expect(parseSshHostAlias('01J8ZQ6C5V0000000000000000')).toEqual({ space: '01J8ZQ6C5V0000000000000000' });
});
