/**
 * Quota decisions (rules: core/quotas.ts). A create, start, restart or update is checked, and its
 * operation recorded, in ONE store transaction that first takes the owner's quota lock
 * (QuotaRepository.lockOwner): the usage it counts includes every space that runs or has an
 * active start/restart operation, and the operation it inserts is counted by the next decision,
 * which cannot begin before this one commits. So however many requests race, on however many
 * API processes, the units are never given out twice — and a refused request has changed nothing,
 * in the store or in Nomad.
 */
import { quotaRefusal, usageOf, type EffectiveLimits, type QuotaUsage, type SpaceUnits } from '../core/quotas';
import type { Space, TemplateRecord } from '../store/model';
import { holdingsOf, limitsOf, unitsOfSpaceIn } from '../store/quota-guard';
import { renderSettingsOf } from '../store/render-context';
import type { Repositories } from '../store/store';
import type { Services } from './context';

export { holdingsOf, limitsOf, startGuard } from '../store/quota-guard';

export async function usageAndLimits(repos: Repositories, userId: string): Promise<{ usage: QuotaUsage; limits: EffectiveLimits }> {
  const [holdings, limits] = await Promise.all([holdingsOf(repos, userId), limitsOf(repos, userId)]);
  return { usage: usageOf([...holdings.values()]), limits };
}


/** What a space costs on this template version's content (store/quota-guard.ts), with the server's render settings. */
export async function unitsOfSpace(svc: Services, space: Space, template: TemplateRecord, content: Record<string, unknown>): Promise<SpaceUnits> {
  return unitsOfSpaceIn(svc.store, renderSettingsOf(svc.config), space, template, content);
}

/**
 * maxSpaces before a create, under the owner's lock. A create runs its own workflow after this
 * check, so two creates racing for the last space can both pass: the start check is the one that
 * holds under races (it is what costs resources).
 */
export async function checkCreate(svc: Services, ownerId: string): Promise<void> {
  await svc.store.transaction(async (tx) => {
    await tx.quotas.lockOwner(ownerId, svc.now());
    const [count, limits] = await Promise.all([tx.spaces.countOwnedBy(ownerId, false), limitsOf(tx, ownerId)]);
    const refusal = quotaRefusal(limits, { maxSpaces: count, computeUnits: 0, storageUnits: 0 }, { maxSpaces: 1 });
    if (refusal) throw refusal;
  });
}
