/**
 * Names and ids.
 *
 * - space and template names: lowercase DNS labels, `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$` (they end up
 *   in Nomad job ids, hostnames under the wildcard domain and volume ids).
 * - usernames: like a Linux login, `^[a-z][a-z0-9_-]{0,31}$` — the agent creates this user inside the
 *   space (`KNOT_USER`), and it appears in job ids (`${{.space.name}}-${{.user.username}}`).
 * - group names: lowercase, `^[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?$` (only used inside knot).
 * - variable names (template variables, `.var.NAME`): identifiers `^[A-Za-z_][A-Za-z0-9_]{0,63}$`,
 *   like parameter names, because they are written inside `${{ }}`.
 * - ids: 26 characters, lowercase Crockford base32 — 10 of milliseconds since the epoch then 16
 *   random (80 bits), a ULID in lowercase. They sort by creation time and are safe in Nomad job
 *   and volume ids, URLs and hostnames.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { validationError, type FieldError } from './errors';

export type NameKind = 'space' | 'template' | 'user' | 'group' | 'variable';

export const NAME_PATTERNS: Readonly<Record<NameKind, RegExp>> = {
  space: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  template: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  user: /^[a-z][a-z0-9_-]{0,31}$/,
  group: /^[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?$/,
  variable: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
};

const DESCRIPTIONS: Readonly<Record<NameKind, string>> = {
  space: 'must be 1-63 lowercase letters, digits or -, starting and ending with a letter or digit',
  template: 'must be 1-63 lowercase letters, digits or -, starting and ending with a letter or digit',
  user: 'must be 1-32 lowercase letters, digits, _ or -, starting with a letter',
  group: 'must be 1-64 lowercase letters, digits, _ or -, starting and ending with a letter or digit',
  variable: 'must be 1-64 letters, digits or _, not starting with a digit',
};

/** The lengths each pattern allows, stated separately so API documents can carry them (minLength/maxLength). */
export const NAME_LENGTHS: Readonly<Record<NameKind, { min: number; max: number }>> = {
  space: { min: 1, max: 63 },
  template: { min: 1, max: 63 },
  user: { min: 1, max: 32 },
  group: { min: 1, max: 64 },
  variable: { min: 1, max: 64 },
};

/**
 * A zod string for a name of this kind: the pattern does the checking (one message), and the
 * lengths it implies are stated for the JSON Schema so generated clients and fuzzers see them.
 */
export function nameString(kind: NameKind) {
  const { min, max } = NAME_LENGTHS[kind];
  return z.string().regex(NAME_PATTERNS[kind], DESCRIPTIONS[kind]).meta({ minLength: min, maxLength: max });
}

export function isValidName(kind: NameKind, value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERNS[kind].test(value);
}

/** Problems with a name as FieldErrors (empty when valid); `path` defaults to `name`. */
export function nameErrors(kind: NameKind, value: unknown, path = 'name'): FieldError[] {
  if (typeof value !== 'string' || value === '') return [{ path, message: 'is required' }];
  return NAME_PATTERNS[kind].test(value) ? [] : [{ path, message: DESCRIPTIONS[kind] }];
}

/** Throws KnotError(Validation) for an invalid name. */
export function assertName(kind: NameKind, value: unknown, path = 'name'): string {
  const errors = nameErrors(kind, value, path);
  if (errors.length > 0) throw validationError(errors);
  return value as string;
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
export const ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{26}$/;
const MAX_TIME = 2 ** 48 - 1;

/**
 * A new id for `now` (passed in: core reads no clock). Ids made in the same millisecond are
 * unique (80 random bits) but not ordered among themselves.
 */
export function newId(now: Date | number, random: (n: number) => Uint8Array = randomBytes): string {
  const ms = typeof now === 'number' ? now : now.getTime();
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIME) throw new RangeError(`newId: time out of range: ${ms}`);
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  // 80 random bits = 16 characters of 5 bits.
  const bytes = random(10);
  let bits = 0;
  let acc = 0;
  let rand = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += CROCKFORD.charAt((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  return time + rand;
}

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** The creation time encoded in an id (milliseconds since the epoch). */
export function idTime(id: string): number {
  if (!isId(id)) throw new RangeError(`not an id: ${id}`);
  let ms = 0;
  for (const ch of id.slice(0, 10)) ms = ms * 32 + CROCKFORD.indexOf(ch);
  return ms;
}
