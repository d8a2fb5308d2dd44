import { ErrorType, KnotError } from '../../../core/errors';
import {
  constantTimeEqual,
  decryptSecret,
  encryptSecret,
  generateAgentToken,
  generateKey,
  generateToken,
  hashToken,
  isEncrypted,
} from '../../../core/crypto';

function errorOf(fn: () => unknown): KnotError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KnotError) return e;
    throw e;
  }
  throw new Error('expected a KnotError');
}

describe('encryption', () => {
  const key = generateKey();

  it('generateKey gives a fresh base64 32-byte key', () => {
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(generateKey()).not.toBe(key);
  });

  it.each([[''], ['hunter2'], ['line\nbreak "quoted" ${x}'], ['zoë 🚀 日本'], ['x'.repeat(100_000)]])('round-trips %#', (plaintext) => {
    const ct = encryptSecret(plaintext, key);
    expect(ct).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
    expect(isEncrypted(ct)).toBe(true);
    expect(decryptSecret(ct, key)).toBe(plaintext);
  });

  it('uses a fresh nonce every time', () => {
    expect(encryptSecret('same', key)).not.toBe(encryptSecret('same', key));
  });

  it('binds associated data', () => {
    const ct = encryptSecret('s', key, 'variable:1');
    expect(decryptSecret(ct, key, 'variable:1')).toBe('s');
    expect(errorOf(() => decryptSecret(ct, key, 'variable:2')).message).toMatch(/cannot decrypt/);
  });

  const flip = (ct: string, index: number) => {
    const raw = Buffer.from(ct.slice(3), 'base64');
    raw[index] = (raw[index] ?? 0) ^ 1;
    return 'v1:' + raw.toString('base64');
  };
  it.each([
    ['nonce', (ct: string) => flip(ct, 0)],
    ['ciphertext', (ct: string) => flip(ct, 12)],
    ['tag', (ct: string) => flip(ct, Buffer.from(ct.slice(3), 'base64').length - 1)],
    ['truncated', (ct: string) => ct.slice(0, 10)],
    ['wrong format', (ct: string) => ct.replace('v1:', 'v2:')],
  ])('tampering with the %s fails clearly', (_label, tamper) => {
    const err = errorOf(() => decryptSecret(tamper(encryptSecret('secret value', key)), key));
    expect(err.type).toBe(ErrorType.Config);
    expect(err.message).toMatch(/cannot decrypt secret/);
  });

  it('the wrong key fails clearly, naming server.encrypt', () => {
    const err = errorOf(() => decryptSecret(encryptSecret('secret', key), generateKey()));
    expect(err.type).toBe(ErrorType.Config);
    expect(err.message).toContain('server.encrypt');
  });

  it.each([[''], [undefined], [null]])('a missing key (%j) is EncryptionKeyMissing telling the admin what to do', (missing) => {
    for (const fn of [() => encryptSecret('x', missing), () => decryptSecret('v1:AAAA', missing)]) {
      const err = errorOf(fn);
      expect(err.type).toBe(ErrorType.EncryptionKeyMissing);
      expect(err.message).toContain('server.encrypt');
      expect(err.message).toContain('knot genkey');
    }
  });

  it.each([['c2hvcnQ='], ['not base64 at all!'], [Buffer.alloc(31).toString('base64')]])('a malformed key %j is a Config error', (bad) => {
    const err = errorOf(() => encryptSecret('x', bad));
    expect(err.type).toBe(ErrorType.Config);
    expect(err.errors).toEqual([{ path: 'server.encrypt', message: expect.any(String) }]);
  });
});

describe('tokens', () => {
  it('generateToken: prefix + 32 random bytes base64url', () => {
    const t = generateToken();
    expect(t).toMatch(/^knot_[A-Za-z0-9_-]{43}$/);
    expect(generateToken('pat_')).toMatch(/^pat_/);
    expect(generateToken()).not.toBe(t);
  });

  it('hashToken is sha256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('constantTimeEqual compares strings of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('agent tokens are random: knot_agent_ + 32 bytes base64url, never the same twice', () => {
    const a = generateAgentToken();
    expect(a).toMatch(/^knot_agent_[A-Za-z0-9_-]{43}$/);
    expect(generateAgentToken()).not.toBe(a);
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
