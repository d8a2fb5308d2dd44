/**
 * SSH public keys a user adds to their account (the agent puts them into the space's
 * authorized_keys). One OpenSSH public key line is checked here, pure and synchronous, so the API
 * and the CLI (which refuses a private key before sending it anywhere) decide alike.
 *
 * The base64 blob is parsed as the SSH wire format (RFC 4253 §6.6, RFC 5656, PROTOCOL.u2f): uint32
 * length-prefixed strings, the first of which repeats the key type. Parsing it, rather than
 * trusting the text, is what catches a truncated paste or a type that does not match its blob.
 *
 * Error messages never contain any of the input: a private key pasted by mistake must not come
 * back in a problem detail, an audit entry or a log line.
 */
import { createHash } from 'node:crypto';
import { ErrorType, KnotError } from './errors';

export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type SshKeyType = (typeof SSH_KEY_TYPES)[number];

/** The most text accepted as one key (an RSA 16384-bit key line is under 3 KiB). */
export const MAX_SSH_KEY_INPUT = 16 * 1024;
/** RSA below this is breakable with enough money; OpenSSH 9 refuses smaller keys on servers too. */
export const MIN_RSA_BITS = 2048;
export const MAX_SSH_KEY_NAME = 100;

/**
 * The key name: 1-100 characters, no control characters. The Cc range spelled out, not `\p{Cc}`:
 * the pattern is published in the OpenAPI document, and clients' regex engines (Python's, a JSON
 * Schema validator without the u flag) do not all know Unicode property escapes.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
export const SSH_KEY_NAME_PATTERN = /^[^\x00-\x1F\x7F-\x9F]{1,100}$/u;

export interface ParsedSshKey {
  type: SshKeyType;
  /** `<type> <base64>` as OpenSSH writes it, without the comment */
  publicKey: string;
  /** `SHA256:<base64 without padding>` of the blob, as `ssh-keygen -lf` prints it */
  fingerprint: string;
  /** the comment after the key, '' when none */
  comment: string;
  /** RSA: the modulus size; ECDSA: the curve size; Ed25519: 256 */
  bits: number;
}

export const PRIVATE_KEY_MESSAGE =
  'this is a PRIVATE key, not a public one: nothing was stored. Paste the public key instead (the .pub file, e.g. ~/.ssh/id_ed25519.pub), and keep the private key to yourself';

const PRIVATE_KEY_MARKERS = [/-----BEGIN (?:OPENSSH |RSA |EC |DSA |ENCRYPTED |ANY )?PRIVATE KEY-----/, /PuTTY-User-Key-File-\d+:/, /---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----/];

/** Whether the text holds a private key (OpenSSH, PEM/PKCS#1/PKCS#8, PuTTY, ssh.com) anywhere in it. */
export function looksLikePrivateKey(text: string): boolean {
  return PRIVATE_KEY_MARKERS.some((m) => m.test(text));
}

/** `SHA256:<base64, no padding>` of a key blob: what `ssh-keygen -lf` and sshd's logs print. */
export function sshKeyBlobFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The comment as a key name: control characters out, at most 100 characters; the key type when empty. */
export function defaultSshKeyName(comment: string, type: SshKeyType): string {
  const name = comment.replace(/\p{Cc}+/gu, ' ').trim().slice(0, MAX_SSH_KEY_NAME).trim();
  return name || type;
}

function refused(message: string, path: string): KnotError {
  return new KnotError(ErrorType.Validation, `${path}: ${message}`, { errors: [{ path, message }] });
}

/** Reads the wire format's length-prefixed strings; any overrun is a malformed key. */
class WireReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  string(): Buffer {
    if (this.at + 4 > this.buf.length) throw new Error('truncated');
    const len = this.buf.readUInt32BE(this.at);
    const start = this.at + 4;
    if (len > this.buf.length - start) throw new Error('truncated');
    this.at = start + len;
    return this.buf.subarray(start, start + len);
  }

  text(): string {
    return this.string().toString('latin1');
  }

  get done(): boolean {
    return this.at === this.buf.length;
  }
}

/** Bit length of an mpint (big-endian, a leading zero byte keeps a positive number positive). */
function mpintBits(n: Buffer): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
}

const CURVE_BITS: Record<string, number> = { nistp256: 256, nistp384: 384, nistp521: 521 };

/** An uncompressed point on the curve: 0x04 then both coordinates. */
function checkEcPoint(q: Buffer, curve: string): void {
  const coordinate = Math.ceil((CURVE_BITS[curve] ?? 0) / 8);
  if (q.length !== 1 + 2 * coordinate || q[0] !== 0x04) throw new Error('bad point');
}

/** Checks the blob against its type; the key size in bits. Throws a message for the user. */
function checkBlob(type: SshKeyType, blob: Buffer): number {
  const r = new WireReader(blob);
  let embedded: string;
  try {
    embedded = r.text();
  } catch {
    throw new Error('the key data is not an SSH public key (truncated or corrupted?)');
  }
  if (embedded !== type) throw new Error(`the key data is of another type than the declared '${type}'${(SSH_KEY_TYPES as readonly string[]).includes(embedded) || embedded === 'ssh-dss' ? ` ('${embedded}')` : ''}`);
  let bits: number;
  try {
    if (type === 'ssh-rsa') {
      const e = r.string();
      const n = r.string();
      if (mpintBits(e) < 2 || (n[0] ?? 0) & 0x80) throw new Error('bad rsa');
      bits = mpintBits(n);
    } else if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
      if (r.string().length !== 32) throw new Error('bad ed25519');
      bits = 256;
    } else {
      const curve = r.text();
      const expected = type.startsWith('sk-') ? 'nistp256' : type.slice('ecdsa-sha2-'.length);
      if (curve !== expected) throw new Error(`curve mismatch`);
      checkEcPoint(r.string(), curve);
      bits = CURVE_BITS[curve]!;
    }
    // security keys name the relying party (usually "ssh:")
    if (type.startsWith('sk-')) r.string();
  } catch (e) {
    if ((e as Error).message === 'curve mismatch') throw new Error(`the key data names another curve than '${type}' declares`, { cause: e });
    throw new Error(`the key data is not a valid ${type} key (truncated or corrupted?)`, { cause: e });
  }
  if (!r.done) throw new Error('the key data has bytes after the key (corrupted?)');
  return bits;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * One OpenSSH public key line (`<type> <base64> [comment]`), checked and normalised; anything else
 * is a validation KnotError naming `path` whose message contains none of the input.
 */
export function parseSshPublicKey(input: string, path = 'publicKey'): ParsedSshKey {
  // first: a private key must be called one whatever else is wrong with the text
  if (looksLikePrivateKey(input)) throw refused(PRIVATE_KEY_MESSAGE, path);
  if (Buffer.byteLength(input, 'utf8') > MAX_SSH_KEY_INPUT) throw refused(`is larger than ${MAX_SSH_KEY_INPUT / 1024} KiB; one public key line is expected`, path);
  if (/---- BEGIN SSH2 PUBLIC KEY ----/.test(input)) {
    throw refused("is in the SSH2 (RFC 4716) format; convert it to OpenSSH's with 'ssh-keygen -i -f <file>'", path);
  }
  const lines = input.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw refused('is empty: paste one OpenSSH public key line (ssh-ed25519 AAAA… comment)', path);
  if (lines.length > 1) throw refused(`holds ${lines.length} lines: add one key at a time`, path);
  const [typeText = '', data = '', ...rest] = lines[0]!.split(/[ \t]+/);
  if (typeText === 'ssh-dss') throw refused('ssh-dss (DSA) keys are obsolete and refused by OpenSSH; make a new key with ssh-keygen -t ed25519', path);
  if (!(SSH_KEY_TYPES as readonly string[]).includes(typeText)) {
    const later = lines[0]!.split(/[ \t]+/).slice(1).some((w) => (SSH_KEY_TYPES as readonly string[]).includes(w));
    throw refused(
      later
        ? 'starts with something before the key type (authorized_keys options?): paste the key line only'
        : `is not an OpenSSH public key of a supported type (${SSH_KEY_TYPES.join(', ')})`,
      path,
    );
  }
  const type = typeText as SshKeyType;
  if (data === '' || data.length % 4 !== 0 || !BASE64.test(data)) throw refused('the key data is not valid base64 (truncated when copied?)', path);
  const blob = Buffer.from(data, 'base64');
  let bits: number;
  try {
    bits = checkBlob(type, blob);
  } catch (e) {
    throw refused((e as Error).message, path);
  }
  if (type === 'ssh-rsa' && bits < MIN_RSA_BITS) {
    throw refused(`the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required (better: ssh-keygen -t ed25519)`, path);
  }
  return { type, publicKey: `${type} ${blob.toString('base64')}`, fingerprint: sshKeyBlobFingerprint(blob), comment: rest.join(' '), bits };
}
