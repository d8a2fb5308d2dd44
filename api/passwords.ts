/**
 * Password hashing for web sign-in: argon2id (@node-rs/argon2, a native binding that ships in
 * the npm package and hashes on libuv's thread pool, so a sign-in does not block the event loop).
 * Parameters are OWASP's argon2id minimum (19 MiB, t=2, p=1); they live inside each PHC string,
 * so raising them later still verifies old hashes.
 */
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id; the package's enum is an ambient const enum, which isolatedModules can't read
const ARGON2ID = 2;

const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A malformed stored hash verifies as false rather than throwing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * A fixed hash to verify against when the user does not exist or has no password, so the answer
 * takes as long as for a real user and does not tell which usernames exist.
 */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword('knot-decoy-password-never-matches');
  return decoy;
}
