/**
 * The SSH host key of a space: an ed25519 key *derived* from the server's encryption key and the
 * space id (HKDF-SHA256), never generated at random and never stored. Deriving it means nothing
 * sits at rest to protect, every replica computes the same key, and a client's known_hosts line
 * stays valid across restarts of the space and of the server. It changes only when server.encrypt
 * does (which also makes stored secrets unreadable, so that is a deliberate, rare event).
 *
 * The private key travels only over the agent's authenticated link (the agent's embedded SSH
 * server needs it); it is never logged or put in workflow history. It is written in OpenSSH's
 * private key format because ssh2's `utils.parseKey` reads that for ed25519 but not PKCS#8.
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';
import { decodeKey } from './crypto';

const HKDF_SALT = 'knot-ssh-host-key';
/** PKCS#8 DER of an ed25519 private key, before its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SPKI DER of an ed25519 public key, before its 32 bytes. */
const ED25519_SPKI_PREFIX_LENGTH = 12;
const KEY_TYPE = 'ssh-ed25519';

export interface SshHostKey {
  /** OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----"), what the agent's server loads */
  privateKey: string;
  /** "ssh-ed25519 AAAA…", what clients pin */
  publicKey: string;
  /** "SHA256:…", as `ssh-keygen -lf` and OpenSSH's prompts show it */
  fingerprint: string;
}

/** SSH wire encoding: a uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The ed25519 public key (32 bytes) of a 32-byte seed. */
export function ed25519PublicKey(seed: Buffer): Buffer {
  if (seed.length !== 32) throw new Error('an ed25519 seed is 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX_LENGTH);
}

/** The public key blob of the SSH wire format (string "ssh-ed25519", string key). */
function publicBlob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
}

/**
 * An unencrypted "openssh-key-v1" private key (PROTOCOL.key in OpenSSH's sources). The two
 * check integers are normally random; here they come from the public key so the same seed always
 * gives the same text.
 */
export function encodeOpenSshEd25519(seed: Buffer, comment = ''): string {
  const pub = ed25519PublicKey(seed);
  const check = createHash('sha256').update(pub).digest().readUInt32BE(0);
  let priv = Buffer.concat([uint32(check), uint32(check), sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  // padded with 1, 2, 3, … to the cipher's block size (8 for "none")
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob(pub)),
    sshString(priv),
  ]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

/** "SHA256:<base64 without padding>" of an authorized_keys-style public key ("type base64 [comment]"). */
export function sshFingerprint(publicKey: string): string {
  const b64 = publicKey.trim().split(/\s+/)[1] ?? '';
  const blob = Buffer.from(b64, 'base64');
  if (blob.length === 0) throw new Error('not an SSH public key: expected "<type> <base64>"');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The host key of space `spaceId` under the server's `server.encrypt` key (base64, `knot genkey`). */
export function deriveSshHostKey(encryptKeyB64: string | undefined | null, spaceId: string): SshHostKey {
  const master = decodeKey(encryptKeyB64);
  const seed = Buffer.from(hkdfSync('sha256', master, HKDF_SALT, spaceId, 32));
  const publicKey = `${KEY_TYPE} ${publicBlob(ed25519PublicKey(seed)).toString('base64')}`;
  return { privateKey: encodeOpenSshEd25519(seed, `knot-space-${spaceId}`), publicKey, fingerprint: sshFingerprint(publicKey) };
}

/** One known_hosts line pinning `publicKey` for the name a client connects by (its HostKeyAlias). */
export function knownHostsLine(hostAlias: string, publicKey: string): string {
  const [type, b64] = publicKey.trim().split(/\s+/);
  return `${hostAlias} ${type} ${b64}`;
}

/** The domain of SSH host aliases (`Host <space>.knot` in ~/.ssh/config); never a real DNS name. */
export const SSH_ALIAS_DOMAIN = 'knot';

/**
 * The name a client knows a space by over SSH (its HostKeyAlias and `Host`): `<space>.knot` for
 * the caller's own space, `<space>.<owner>.knot` for another user's (an admin's view), so two
 * users' spaces of the same name never share a known_hosts entry.
 */
export function sshHostAlias(spaceName: string, ownerName: string, callerName: string): string {
  return ownerName === callerName ? `${spaceName}.${SSH_ALIAS_DOMAIN}` : `${spaceName}.${ownerName}.${SSH_ALIAS_DOMAIN}`;
}

/** What `knot forward ssh %h` was given: an alias back to space and owner, else the name (or id) as is. */
export function parseSshHostAlias(host: string): { space: string; owner?: string } {
  const parts = host.split('.');
  if (parts.length >= 2 && parts[parts.length - 1] === SSH_ALIAS_DOMAIN) {
    if (parts.length === 2) return { space: parts[0]! };
    if (parts.length === 3) return { space: parts[0]!, owner: parts[1]! };
  }
  return { space: host };
}
