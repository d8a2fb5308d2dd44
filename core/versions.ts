/**
 * Template versions: semver `X.Y.Z` (no prerelease or build metadata), content hashes, bump rules
 * and the resolution of a space's version reference.
 *
 * Bump rules (`nextVersion`), judged from the previous and next content:
 * - major: a change that can break existing spaces — the template `type` changes, a parameter is
 *   removed or changes type, or a new parameter is required and has no default.
 * - minor: anything else that changes what runs or when it may run — job, volumes, parameters,
 *   maxUptime, schedule, idleTimeout, startTimeout.
 * - patch: metadata only — displayName, description, groups.
 * - no change: no new version (null), so re-sending the same template is idempotent.
 * An explicit `version` in the content wins when it is greater than the latest; equal to the
 * latest with unchanged content is a no-op; anything else is rejected (path `version`).
 */
import { createHash } from 'node:crypto';
import semver from 'semver';
import { validationError, type FieldError } from './errors';

export const VERSION_PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
export const FIRST_VERSION = '1.0.0';

export function isVersion(v: string): boolean {
  return VERSION_PATTERN.test(v);
}

/** Descending semver order (highest first); invalid strings are dropped. */
export function sortVersionsDescending(versions: readonly string[]): string[] {
  return versions.filter(isVersion).sort((a, b) => semver.rcompare(a, b));
}

/** JSON with keys sorted at every level and undefined members dropped, so key order never matters. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Identity fields of a template, not part of any version's content. */
const NOT_CONTENT = new Set(['name', 'version']);
const METADATA = new Set(['displayName', 'description', 'groups']);

function pick(content: Readonly<Record<string, unknown>>, keep: (key: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(content)) if (keep(k)) out[k] = v;
  return out;
}

/** sha256 (hex) of every content field of a template (everything but name and version). */
export function contentHash(content: Readonly<Record<string, unknown>>): string {
  return sha256(canonicalJson(pick(content, (k) => !NOT_CONTENT.has(k))));
}

/**
 * sha256 (hex) of the fields that affect a running space (content minus metadata). Storing this as
 * a space's applied hash keeps a description edit from flagging every space "update available".
 */
export function specHash(content: Readonly<Record<string, unknown>>): string {
  return sha256(canonicalJson(pick(content, (k) => !NOT_CONTENT.has(k) && !METADATA.has(k))));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export type ChangeKind = 'none' | 'patch' | 'minor' | 'major';

interface ParamShape {
  variable: string;
  type: string;
  required?: boolean;
  defaultValue?: unknown;
}

function paramsOf(content: Readonly<Record<string, unknown>>): ParamShape[] {
  const list = content.parameters;
  if (!Array.isArray(list)) return [];
  return list.filter((p): p is ParamShape => typeof p === 'object' && p !== null && typeof (p as ParamShape).variable === 'string');
}

/** How big a change from `previous` to `next` is, by the rules at the top of this file. */
export function classifyChange(previous: Readonly<Record<string, unknown>>, next: Readonly<Record<string, unknown>>): ChangeKind {
  if (contentHash(previous) === contentHash(next)) return 'none';
  if (specHash(previous) === specHash(next)) return 'patch';
  if ((previous.type ?? 'nomad') !== (next.type ?? 'nomad')) return 'major';
  const before = new Map(paramsOf(previous).map((p) => [p.variable, p]));
  const after = new Map(paramsOf(next).map((p) => [p.variable, p]));
  for (const [name, p] of before) {
    const q = after.get(name);
    if (!q || q.type !== p.type) return 'major';
  }
  for (const [name, q] of after) {
    const p = before.get(name);
    const mustBeGiven = q.required === true && q.defaultValue === undefined;
    const wasOptional = !p || !(p.required === true && p.defaultValue === undefined);
    if (mustBeGiven && wasOptional) return 'major';
  }
  return 'minor';
}

/**
 * The version a save creates, or null when nothing changed. `latest` is the template's highest
 * existing version (null for a new template); an explicit `next.version` is honoured as described
 * at the top of this file. Throws KnotError(Validation) with path `version` for a bad explicit one.
 */
export function nextVersion(
  latest: string | null,
  previous: Readonly<Record<string, unknown>> | null,
  next: Readonly<Record<string, unknown>>,
): { version: string; change: ChangeKind } | null {
  const explicit = next.version;
  if (explicit !== undefined && (typeof explicit !== 'string' || !isVersion(explicit))) {
    throw validationError([{ path: 'version', message: 'must be a version X.Y.Z such as 1.2.0' }]);
  }
  if (latest === null || previous === null) return { version: explicit ?? FIRST_VERSION, change: 'major' };
  const change = classifyChange(previous, next);
  if (explicit !== undefined) {
    if (semver.gt(explicit, latest)) return { version: explicit, change: change === 'none' ? 'patch' : change };
    if (explicit === latest && change === 'none') return null;
    throw validationError([{ path: 'version', message: `must be greater than the latest version ${latest}` }]);
  }
  if (change === 'none') return null;
  return { version: semver.inc(latest, change) ?? latest, change };
}

const REF_PART = /^(0|[1-9]\d{0,8}|x|X|\*)$/;

/**
 * Problems with a space's `templateVersion`: empty or `latest`, an exact `1.2.3`, or a pattern whose
 * trailing parts are wildcards (`1.2.x`, `1.x.x`, `x.x.x`; `x`, `X` and `*` are the same).
 */
export function checkTemplateRef(ref: string | undefined): FieldError[] {
  if (ref === undefined || ref === '' || ref === 'latest') return [];
  const parts = ref.split('.');
  const ok =
    parts.length === 3 &&
    parts.every((p) => REF_PART.test(p)) &&
    // a number after a wildcard (x.1.x) would be a strange, ambiguous pattern
    parts.every((p, i) => i === 0 || !/^[xX*]$/.test(parts[i - 1] ?? '') || /^[xX*]$/.test(p));
  return ok ? [] : [{ path: 'templateVersion', message: 'must be latest, an exact version such as 1.2.3, or a pattern such as 1.2.x, 1.x.x or x.x.x' }];
}

/** The highest version matching `ref`, or null. Throws KnotError(Validation) for a malformed ref. */
export function resolveTemplateRef(versions: readonly string[], ref: string | undefined): string | null {
  const errors = checkTemplateRef(ref);
  if (errors.length > 0) throw validationError(errors);
  const wanted = ref === undefined || ref === '' || ref === 'latest' ? ['x', 'x', 'x'] : ref.split('.');
  for (const v of sortVersionsDescending(versions)) {
    const parts = v.split('.');
    if (wanted.every((w, i) => /^[xX*]$/.test(w) || Number(w) === Number(parts[i]))) return v;
  }
  return null;
}

/** Whether a space runs something other than what its template ref now resolves to. */
export function isUpdateAvailable(appliedHash: string | null | undefined, resolvedHash: string | null | undefined): boolean {
  return !!appliedHash && !!resolvedHash && appliedHash !== resolvedHash;
}
