/**
 * The quota rule of a start, restart or update over the store's repositories (rules:
 * core/quotas.ts). Shared by the API (api/quota-check.ts) and the autostart sweep, so a start asked
 * for by a schedule is checked exactly as one asked for by a user.
 */
import { effectiveLimits, quotaRefusal, storageUnitsOfVolumes, unitsOfContent, usageOf, type EffectiveLimits, type SpaceHolding, type SpaceUnits } from '../core/quotas';
import { renderTemplate } from '../core/render';
import { parseVolumeDefinitions } from '../core/volumes';
import type { Space, TemplateRecord } from './model';
import { loadRenderContext, type RenderSettings } from './render-context';
import type { Repositories, Store } from './store';

/** Phases in which a space's job holds its compute units. */
const HOLDING_PHASES: readonly string[] = ['starting', 'running', 'stopping'];
/** An active operation of these types is (about to be) running the space. */
const STARTING_OPERATIONS: readonly string[] = ['start', 'restart'];
/** More spaces than one owner may hold in any sensible installation; counted in one read. */
const MAX_COUNTED_SPACES = 100_000;

export async function limitsOf(repos: Repositories, userId: string): Promise<EffectiveLimits> {
  const own = (await repos.quotas.limitsOf('user', [userId])).get(userId) ?? null;
  const groups = await repos.groups.getByNames(await repos.groups.namesOfUser(userId));
  const quotas = await repos.quotas.limitsOf('group', groups.map((g) => g.id));
  return effectiveLimits(own, groups.map((g) => ({ name: g.name, quota: quotas.get(g.id) ?? null })));
}

/**
 * What each of the owner's live spaces holds. A space has the units its latest start/update
 * reserved; one never started since quotas exist counts what its applied version declares.
 */
export async function holdingsOf(repos: Repositories, ownerId: string): Promise<Map<string, SpaceHolding>> {
  const spaces = await repos.spaces.list({ ownerId, limit: MAX_COUNTED_SPACES });
  const ids = spaces.map((s) => s.id);
  const [activeIds, volumes, reserved] = await Promise.all([repos.operations.activeSpaceIds(ids), repos.volumes.listOfSpaces(ids), repos.quotas.unitsOf(ids)]);
  const active = new Map<string, string>();
  for (const id of activeIds) {
    const op = await repos.operations.active(id);
    if (op) active.set(id, op.type);
  }
  const legacy = spaces.filter((s) => !reserved.has(s.id) && s.appliedVersion !== null);
  const contents = legacy.length ? await repos.templates.versionContents(legacy.map((s) => [s.templateId, s.appliedVersion!] as const)) : new Map<string, Record<string, unknown>>();
  const out = new Map<string, SpaceHolding>();
  for (const s of spaces) {
    const units = reserved.get(s.id) ?? unitsOfContent(contents.get(`${s.templateId}@${s.appliedVersion}`), 0);
    out.set(s.id, {
      running: HOLDING_PHASES.includes(s.phase),
      activeStart: STARTING_OPERATIONS.includes(active.get(s.id) ?? ''),
      hasVolumes: (volumes.get(s.id)?.length ?? 0) > 0,
      units,
    });
  }
  return out;
}

/**
 * What a space costs on this template version's content: its declared units, storage by default
 * from its volumes rendered with the space's parameters (as a start renders them).
 */
export async function unitsOfSpaceIn(store: Store, settings: RenderSettings, space: Space, template: TemplateRecord, content: Record<string, unknown>): Promise<SpaceUnits> {
  const yaml = typeof content.volumes === 'string' ? content.volumes : '';
  let volumeStorage = 0;
  if (content.storageUnits === undefined && yaml.trim()) {
    const ctx = await loadRenderContext(store, settings, space, template);
    volumeStorage = storageUnitsOfVolumes(parseVolumeDefinitions(renderTemplate(yaml, ctx, { escape: 'yaml', path: 'volumes' })));
  }
  return unitsOfContent(content, volumeStorage);
}

/**
 * The guard of a start, restart or update: run inside the transaction that inserts the operation.
 * `units` is what the space will hold once it runs; `starts` whether the operation runs the space
 * (an update of a stopped space only changes its spec: nothing to check, nothing reserved).
 */
export function startGuard(space: Space, units: SpaceUnits, starts: boolean, now: number) {
  return async (tx: Repositories): Promise<void> => {
    if (!starts) return;
    await tx.quotas.lockOwner(space.ownerId, now);
    const holdings = await holdingsOf(tx, space.ownerId);
    const mine = holdings.get(space.id);
    const heldCompute = mine && (mine.running || mine.activeStart) ? mine.units.compute : 0;
    const heldStorage = mine && (mine.hasVolumes || mine.activeStart) ? mine.units.storage : 0;
    const refusal = quotaRefusal(await limitsOf(tx, space.ownerId), usageOf([...holdings.values()]), {
      computeUnits: units.compute - heldCompute,
      storageUnits: units.storage - heldStorage,
    });
    if (refusal) throw refusal;
    await tx.quotas.setUnits(space.id, units, now);
  };
}

