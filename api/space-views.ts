/** Finding spaces the caller may see, and rendering them with their computed status. */
import { agentView } from './agent-routes';
import { deleteAfterOf, dormantDeletesAt, dormantSince } from '../core/dormancy';
import { ErrorType, KnotError, notFound } from '../core/errors';
import { isId } from '../core/names';
import { actionsOf, refusalOf, roleAllows, type SpaceAction, type SpaceRole } from '../core/space-roles';
import type { ParameterDef } from '../core/parameters';
import { publicPortsOf } from '../core/template';
import { isUpdateAvailable, resolveTemplateRef, specHash } from '../core/versions';
import type { Operation, Space, TemplateRecord, TemplateVersionRecord } from '../store/model';
import type { Actor, Services } from './context';
import { findUser } from './lookup';
import { roleOn, rolesOn } from './space-roles';
import { spaceJson } from './views';

export interface TemplateFacts {
  template: TemplateRecord;
  versions: TemplateVersionRecord<{ parameters?: ParameterDef[] } & Record<string, unknown>>[];
}

export async function templateFacts(svc: Services, templateId: string): Promise<TemplateFacts | null> {
  const template = await svc.store.templates.get(templateId);
  if (!template) return null;
  return { template, versions: await svc.store.templates.listVersions(templateId) };
}

/** The version a ref resolves to now (null when none matches or the ref is malformed). */
export function resolvedVersion(facts: TemplateFacts, ref: string) {
  let v: string | null;
  try {
    v = resolveTemplateRef(
      facts.versions.map((x) => x.version),
      ref,
    );
  } catch {
    return null;
  }
  return facts.versions.find((x) => x.version === v) ?? null;
}

/**
 * Whether the space runs something other than what its ref resolves to now. The applied hash may
 * be the version's content hash or its spec hash (which ignores metadata); either one matching
 * means "up to date".
 */
export function updateAvailableFor(space: Space, facts: TemplateFacts | null): boolean {
  if (!facts || !space.appliedHash) return false;
  const target = resolvedVersion(facts, space.templateRef);
  if (!target) return false;
  if (space.appliedHash === target.contentHash || space.appliedHash === specHash(target.content)) return false;
  return isUpdateAvailable(space.appliedHash, target.contentHash);
}

/**
 * A space by id, or by name (the caller's; `?owner=` names another owner's), that the caller may
 * act on: their own, any as an admin, or one shared with them (core/space-roles.ts). A space they
 * cannot see, a missing or a deleted one → the same 404; one they see but whose role does not
 * allow `action` → 403 naming their role and what it allows.
 */
export async function findVisibleSpace(svc: Services, actor: Actor, idOrName: string, ownerName?: string, action: SpaceAction = 'view'): Promise<Space> {
  return (await findSpaceWithRole(svc, actor, idOrName, ownerName, action)).space;
}

/** As findVisibleSpace, with the caller's role on the space. */
export async function findSpaceWithRole(svc: Services, actor: Actor, idOrName: string, ownerName?: string, action: SpaceAction = 'view'): Promise<{ space: Space; role: SpaceRole }> {
  let space: Space | null = null;
  if (isId(idOrName)) space = await svc.store.spaces.get(idOrName);
  if (!space || space.deletedAt) {
    let ownerId = actor.user.id;
    if (ownerName !== undefined && ownerName !== actor.user.username) {
      const owner = await findUser(svc.store, ownerName);
      if (!owner) throw notFound('space', idOrName);
      ownerId = owner.id;
    }
    space = await svc.store.spaces.getByName(ownerId, idOrName);
  }
  const role = space && !space.deletedAt ? await roleOn(svc, actor, space) : null;
  if (!space || !role) throw notFound('space', idOrName);
  if (!roleAllows(role, action)) throw new KnotError(ErrorType.Forbidden, refusalOf(role, action, space.name), { details: { role, allows: actionsOf(role) } });
  return { space, role };
}

/** Space JSON for many spaces, loading owners, templates and operations once each. */
export async function spaceViews(svc: Services, spaces: Space[], actor: Actor) {
  const roles = await rolesOn(svc, actor, spaces);
  const owners = new Map((await svc.store.users.getByIds([...new Set(spaces.map((s) => s.ownerId))])).map((u) => [u.id, u.username]));
  const facts = new Map<string, TemplateFacts | null>();
  for (const id of new Set(spaces.map((s) => s.templateId))) facts.set(id, await templateFacts(svc, id));
  // one query each for the whole page, not one per space
  const ids = spaces.map((s) => s.id);
  const now = svc.now();
  const [agents, volumes, operations, autostarts, dormancy] = await Promise.all([
    svc.agentState.getMany(ids),
    svc.store.volumes.listOfSpaces(ids),
    svc.store.operations.getMany(spaces.map((s) => s.lastOperationId).filter((id): id is string => id !== null)),
    svc.store.autostarts.getMany(ids),
    svc.store.dormancy.getMany(ids),
  ]);
  return spaces.map((s) => {
    const f = facts.get(s.templateId) ?? null;
    const applied = f?.versions.find((v) => v.version === s.appliedVersion);
    const target = f ? resolvedVersion(f, s.templateRef) : null;
    const defs = [...(target?.content.parameters ?? []), ...(applied?.content.parameters ?? [])];
    const lastOperation: Operation | null = s.lastOperationId ? (operations.get(s.lastOperationId) ?? null) : null;
    return spaceJson(s, {
      ownerName: owners.get(s.ownerId) ?? s.ownerId,
      templateName: f?.template.name ?? s.templateId,
      parameterDefs: defs,
      updateAvailable: updateAvailableFor(s, f),
      volumes: volumes.get(s.id) ?? [],
      lastOperation,
      agent: agentView(s, agents.get(s.id) ?? null, now),
      publicPorts: publicPortsOf(applied?.content),
      role: roles.get(s.id) ?? null,
      autostart: autostarts.get(s.id) ?? null,
      dormancyExempt: dormancy.get(s.id)?.exempt ?? false,
      deletesAt: dormantDeletesAt({
        since: dormantSince(s, lastOperation),
        // as the sweep reads it: the applied version, else the latest (a space never started)
        deleteAfterMs: deleteAfterOf((applied ?? f?.versions.find((v) => v.version === f.template.latestVersion))?.content),
        exempt: dormancy.get(s.id)?.exempt ?? false,
        warnedAt: dormancy.get(s.id)?.warnedAt ?? null,
        warnedSince: dormancy.get(s.id)?.warnedSince ?? null,
        warnedDeletesAt: dormancy.get(s.id)?.warnedDeletesAt ?? null,
      }),
    });
  });
}

export async function spaceView(svc: Services, space: Space, actor: Actor) {
  const [view] = await spaceViews(svc, [space], actor);
  if (!view) throw new KnotError(ErrorType.Internal, 'space view missing');
  return view;
}
