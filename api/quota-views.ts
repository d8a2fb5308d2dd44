/** Quota limits and usage as the API shows them (api/schemas/quotas.ts). */
import { QUOTA_KINDS, type EffectiveLimits, type Quota, type QuotaUsage } from '../core/quotas';

export function quotaJson(q: Quota | null): { maxSpaces: number | null; computeUnits: number | null; storageUnits: number | null } {
  return { maxSpaces: q?.maxSpaces ?? null, computeUnits: q?.computeUnits ?? null, storageUnits: q?.storageUnits ?? null };
}

export function usageJson(username: string, usage: QuotaUsage, limits: EffectiveLimits) {
  return { user: username, items: QUOTA_KINDS.map((k) => ({ quota: k, usage: usage[k], limit: limits[k].limit, source: limits[k].source })) };
}
