/**
 * Secrets at rest (protected variables, password parameters), API tokens and per-space agent tokens.
 *
 * Encryption: AES-256-GCM with the 32-byte key from `server.encrypt` (`knot genkey`), a random
 * 12-byte nonce per message, output `v1:<base64(nonce | ciphertext | 16-byte tag)>`. The version
 * prefix lets a later format (or key rotation) coexist with stored values. Optional associated
 * data binds a ciphertext to where it belongs (e.g. `variable:<id>`), so a stored secret can't be
 * copied into another row and decrypt there.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorType, KnotError } from './errors';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_V1 = 'v1:';

/** A new base64 32-byte key, as `knot genkey` prints it. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** The key bytes; missing → EncryptionKeyMissing, malformed → Config (both name server.encrypt). */
export function decodeKey(keyB64: string | undefined | null): Buffer {
  if (!keyB64) {
    throw new KnotError(
      ErrorType.EncryptionKeyMissing,
      "no encryption key configured: generate one with 'knot genkey' and set server.encrypt (or KNOT_ENCRYPT) to store secrets",
    );
  }
  const key = Buffer.from(keyB64, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== keyB64.trim()) {
    throw new KnotError(ErrorType.Config, "server.encrypt must be a base64 32-byte key (run 'knot genkey')", {
      errors: [{ path: 'server.encrypt', message: "must be a base64 32-byte key (run 'knot genkey')" }],
    });
  }
  return key;
}

export function encryptSecret(plaintext: string, keyB64: string | undefined | null, associatedData?: string): string {
  const key = decodeKey(keyB64);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  if (associatedData !== undefined) cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return FORMAT_V1 + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

/**
 * Decrypts what `encryptSecret` produced. A wrong key and a modified ciphertext are
 * indistinguishable under GCM; both fail with one clear Config error (500: the server can't use
 * its stored secrets), never with garbage plaintext.
 */
export function decryptSecret(ciphertext: string, keyB64: string | undefined | null, associatedData?: string): string {
  const key = decodeKey(keyB64);
  if (!ciphertext.startsWith(FORMAT_V1)) {
    throw new KnotError(ErrorType.Config, 'cannot decrypt secret: unknown format (expected v1:…)');
  }
  const raw = Buffer.from(ciphertext.slice(FORMAT_V1.length), 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) {
    throw new KnotError(ErrorType.Config, 'cannot decrypt secret: ciphertext is truncated');
  }
  const nonce = raw.subarray(0, NONCE_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAuthTag(tag);
    if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new KnotError(
      ErrorType.Config,
      'cannot decrypt secret: server.encrypt is not the key it was encrypted with, or the stored value was altered',
      { cause },
    );
  }
}

/** Whether a stored value is ciphertext of a known format (for migrations and masking). */
export function isEncrypted(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(FORMAT_V1);
}

/** sha256 hex of an API token: the store keeps only this. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new API token: `prefix` + base64url of 32 random bytes (256 bits). */
export function generateToken(prefix = 'knot_'): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Compares two strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  // Hashing first gives equal-length inputs, so the length of a secret doesn't leak either.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * A new agent token for a space (`knot_agent_` + base64url of 32 random bytes). Random rather than
 * derived from the space id: a token can be revoked (a stop, a delete, a newer token) and a leaked
 * one says nothing about another space's. The store keeps only its `hashToken`.
 */
export function generateAgentToken(): string {
  return generateToken('knot_agent_');
}

/** The associated data that binds a protected variable's ciphertext to its row. */
export function variableAad(id: string): string {
  return `variable:${id}`;
}
