/**
 * The caller's role on spaces (core/space-roles.ts decides; this loads the facts): ownership and
 * the admin role need no store read, shares are read only for the spaces the caller does not own.
 */
import { spaceRoleOf, type SpaceCaller, type SpaceRole } from '../core/space-roles';
import type { Space } from '../store/model';
import type { Actor, Services } from './context';

export function callerOf(actor: Actor): SpaceCaller {
  return { userId: actor.user.id, isAdmin: actor.isAdmin, groups: actor.groups };
}

/** The caller's role on each of these spaces (null: they may not see it). */
export async function rolesOn(svc: Pick<Services, 'store'>, actor: Actor, spaces: readonly Pick<Space, 'id' | 'ownerId'>[]): Promise<Map<string, SpaceRole | null>> {
  const caller = callerOf(actor);
  const others = spaces.filter((s) => s.ownerId !== actor.user.id && !actor.isAdmin).map((s) => s.id);
  const shares = others.length > 0 ? await svc.store.shares.listOfSpaces(others) : new Map();
  return new Map(spaces.map((s) => [s.id, spaceRoleOf(caller, s, shares.get(s.id) ?? [])]));
}

export async function roleOn(svc: Pick<Services, 'store'>, actor: Actor, space: Pick<Space, 'id' | 'ownerId'>): Promise<SpaceRole | null> {
  return (await rolesOn(svc, actor, [space])).get(space.id) ?? null;
}
