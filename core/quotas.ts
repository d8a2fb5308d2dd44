/**
 * Quotas: how many spaces a user may own (`maxSpaces`), how many compute units their running
 * spaces may hold together (`computeUnits`) and how many storage units their volumes
 * (`storageUnits`). Limits are set on users and on groups; a limit not set is no limit.
 *
 * The effective limit of a user, per quota: the user's own where set; else the most generous of
 * the limits their groups set (a group that does not set that quota does not take part); else
 * none. So a group quota is a default an admin can raise or lower per user.
 *
 * What a space costs comes from its template version: `computeUnits` (default 1) and
 * `storageUnits` (default: the sum of its volumes' `capacity_min`, in GiB rounded up). Pure: the
 * API computes usage with it inside the store transaction that records the operation.
 */
import { z } from 'zod';
import { ErrorType, KnotError } from './errors';
import type { VolumeSpec } from './volumes';

export const QUOTA_KINDS = ['maxSpaces', 'computeUnits', 'storageUnits'] as const;
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** Limits as stored: a kind that is absent (or null) has no limit. */
export type Quota = Partial<Record<QuotaKind, number>>;

const MAX_UNITS = 1_000_000;
const limitValue = z.number().int().min(0).max(MAX_UNITS);

/** A PATCH of limits: a number sets, `null` removes, absent leaves alone. */
export const quotaPatchSchema = z
  .strictObject({
    maxSpaces: limitValue.nullable().optional().describe('spaces the user may own'),
    computeUnits: limitValue.nullable().optional().describe('compute units of running (and starting) spaces'),
    storageUnits: limitValue.nullable().optional().describe('storage units of the volumes that exist'),
  })
  .meta({ id: 'QuotaPatch' });
export type QuotaPatch = z.infer<typeof quotaPatchSchema>;

/** Units a template version costs (template fields; the API schema lives in core/template.ts). */
export const unitsSchema = limitValue;

/** Stored limits after a patch; an empty result means "no limits" (the record is removed). */
export function applyQuotaPatch(current: Quota | null, patch: QuotaPatch): Quota {
  const out: Quota = { ...(current ?? {}) };
  for (const k of QUOTA_KINDS) {
    const v = patch[k];
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface EffectiveLimit {
  limit: number | null;
  /** `user`, `group:<name>`, or null when there is no limit */
  source: string | null;
}
export type EffectiveLimits = Record<QuotaKind, EffectiveLimit>;

/** The rule above: own limit, else the most generous group limit, else none. */
export function effectiveLimits(own: Quota | null, groups: readonly { name: string; quota: Quota | null }[]): EffectiveLimits {
  const out = {} as EffectiveLimits;
  for (const k of QUOTA_KINDS) {
    const mine = own?.[k];
    if (mine !== undefined) {
      out[k] = { limit: mine, source: 'user' };
      continue;
    }
    let best: EffectiveLimit = { limit: null, source: null };
    for (const g of [...groups].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const v = g.quota?.[k];
      if (v !== undefined && (best.limit === null || v > best.limit)) best = { limit: v, source: `group:${g.name}` };
    }
    out[k] = best;
  }
  return out;
}

export interface SpaceUnits {
  compute: number;
  storage: number;
}

const GIB = 2 ** 30;

/** Storage units of rendered volumes: their `capacity_min` summed, in GiB, rounded up. */
export function storageUnitsOfVolumes(volumes: readonly Pick<VolumeSpec, 'capacityMin'>[]): number {
  const bytes = volumes.reduce((sum, v) => sum + (v.capacityMin ?? 0), 0);
  return Math.ceil(bytes / GIB);
}

/**
 * What a template version's content costs. `volumeStorage` is the storage of its rendered volumes
 * (storageUnitsOfVolumes), used when the template does not declare `storageUnits`.
 */
export function unitsOfContent(content: { computeUnits?: unknown; storageUnits?: unknown } | null | undefined, volumeStorage: number): SpaceUnits {
  const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
  return { compute: num(content?.computeUnits) ?? 1, storage: num(content?.storageUnits) ?? volumeStorage };
}

/** How much of each quota a user holds. */
export type QuotaUsage = Record<QuotaKind, number>;

/** One of the owner's spaces, as the usage count sees it. */
export interface SpaceHolding {
  /** starting or running (a stopping space still holds its units until it has stopped) */
  running: boolean;
  /** it has a start, restart or update operation pending or running */
  activeStart: boolean;
  hasVolumes: boolean;
  units: SpaceUnits;
}

/**
 * Usage: every live space counts for maxSpaces; compute counts spaces that run or are being
 * started (an active start/restart/update); storage counts spaces whose volumes exist or are being
 * created by an active start/update.
 */
export function usageOf(spaces: readonly SpaceHolding[]): QuotaUsage {
  const usage: QuotaUsage = { maxSpaces: spaces.length, computeUnits: 0, storageUnits: 0 };
  for (const s of spaces) {
    if (s.running || s.activeStart) usage.computeUnits += s.units.compute;
    if (s.hasVolumes || s.activeStart) usage.storageUnits += s.units.storage;
  }
  return usage;
}

const QUOTA_WORDS: Record<QuotaKind, string> = { maxSpaces: 'spaces', computeUnits: 'compute units', storageUnits: 'storage units' };

/**
 * The first quota a request would exceed, as a 403 `quota_exceeded` naming the quota, the usage,
 * the request and the limit; null when it fits. `request` is what the action adds to the usage.
 */
export function quotaRefusal(limits: EffectiveLimits, usage: QuotaUsage, request: Partial<QuotaUsage>): KnotError | null {
  for (const k of QUOTA_KINDS) {
    const asked = request[k] ?? 0;
    const { limit, source } = limits[k];
    if (asked <= 0 || limit === null || usage[k] + asked <= limit) continue;
    return new KnotError(
      ErrorType.QuotaExceeded,
      `quota exceeded: ${QUOTA_WORDS[k]} — ${usage[k]} in use + ${asked} requested > limit ${limit}${source ? ` (${source === 'user' ? 'set on the user' : `from ${source}`})` : ''}`,
      { details: { quota: k, usage: usage[k], request: asked, limit, source } },
    );
  }
  return null;
}
