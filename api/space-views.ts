/** Finding spaces the caller may see, and rendering them with their computed status. */
import { agentView } from './agent-routes';
import { deleteAfterOf, dormantDeletesAt, dormantSince } from '../core/dormancy';
import { ErrorType, KnotError, notFound } from '../core/errors';
import { isId } from '../core/names';
import { actionsOf, refusalOf, roleAllows, type SpaceAction, type SpaceRole } from '../core/space-roles';
import { secretParameterNames, type ParameterDef } from '../core/parameters';
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

type FactsVersion = TemplateFacts['versions'][number];

/** What a page's views derive from one template version: worked out once per version, not per space. */
interface VersionFacts {
  publicPorts: number[];
  deleteAfterMs: number | undefined;
}

/** What every space of one template, ref and applied version shares in its view. */
interface SpecFacts {
  templateName: string | null;
  target: FactsVersion | null;
  /** parameters masked: the password ones of the target and the applied version */
  secretParameters: ReadonlySet<string>;
  publicPorts: number[];
  /** the dormancy setting the sweep reads: the applied version's, else the latest's */
  deleteAfterMs: number | undefined;
}

const NO_SECRETS: ReadonlySet<string> = new Set();

/**
 * Space JSON for many spaces, loading owners, templates and operations once each (one query per
 * kind for the whole page, not one per space), and deriving what depends only on a template version
 * or a ref (the resolved version, "update available", public ports, dormancy, masked parameters)
 * once per page.
 */
export async function spaceViews(svc: Services, spaces: Space[], actor: Actor) {
  const ids = spaces.map((s) => s.id);
  const now = svc.now();
  // the caller was read for this request: their own spaces need no owner read
  const otherOwners = [...new Set(spaces.map((s) => s.ownerId))].filter((id) => id !== actor.user.id);
  const templateIds = [...new Set(spaces.map((s) => s.templateId))];
  const lastOperationIds = spaces.map((s) => s.lastOperationId).filter((id): id is string => id !== null);
  // independent reads at once: one round trip's wait on MariaDB or Redis instead of one each
  const [roles, others, factsList, agents, volumes, operations, autostarts, dormancy] = await Promise.all([
    rolesOn(svc, actor, spaces),
    otherOwners.length > 0 ? svc.store.users.getByIds(otherOwners) : Promise.resolve([]),
    Promise.all(templateIds.map((id) => templateFacts(svc, id))),
    svc.agentState.getMany(ids),
    svc.store.volumes.listOfSpaces(ids),
    lastOperationIds.length > 0 ? svc.store.operations.getMany(lastOperationIds) : Promise.resolve(new Map<string, Operation>()),
    svc.store.autostarts.getMany(ids),
    svc.store.dormancy.getMany(ids),
  ]);
  const owners = new Map<string, string>([[actor.user.id, actor.user.username], ...others.map((u): [string, string] => [u.id, u.username])]);
  const facts = new Map(templateIds.map((id, i) => [id, factsList[i] ?? null]));
  const byVersion = new Map<FactsVersion, VersionFacts>();
  const versionFacts = (v: FactsVersion | undefined): VersionFacts => {
    if (!v) return { publicPorts: publicPortsOf(undefined), deleteAfterMs: deleteAfterOf(undefined) };
    let vf = byVersion.get(v);
    if (!vf) byVersion.set(v, (vf = { publicPorts: publicPortsOf(v.content), deleteAfterMs: deleteAfterOf(v.content) }));
    return vf;
  };
  const bySpec = new Map<string, SpecFacts>();
  // a page's spaces mostly follow one template, ref and version: the last one's facts first
  let last: { templateId: string; templateRef: string; appliedVersion: string | null; facts: SpecFacts } | null = null;
  const specFacts = (s: Space): SpecFacts => {
    if (last !== null && last.templateId === s.templateId && last.templateRef === s.templateRef && last.appliedVersion === s.appliedVersion) return last.facts;
    const key = `${s.templateId}\n${s.templateRef}\n${s.appliedVersion ?? ''}\n${s.appliedVersion === null ? 0 : 1}`;
    let sf = bySpec.get(key);
    if (!sf) sf = specFactsOf(s, key);
    last = { templateId: s.templateId, templateRef: s.templateRef, appliedVersion: s.appliedVersion, facts: sf };
    return sf;
  };
  const specFactsOf = (s: Space, key: string): SpecFacts => {
    const f = facts.get(s.templateId) ?? null;
    const applied = f?.versions.find((v) => v.version === s.appliedVersion);
    const target = f ? resolvedVersion(f, s.templateRef) : null;
    const secrets = secretParameterNames([...(target?.content.parameters ?? []), ...(applied?.content.parameters ?? [])]);
    const sf: SpecFacts = {
      templateName: f?.template.name ?? null,
      target,
      secretParameters: secrets.length > 0 ? new Set(secrets) : NO_SECRETS,
      publicPorts: versionFacts(applied).publicPorts,
      // as the sweep reads it: the applied version, else the latest (a space never started)
      deleteAfterMs: versionFacts(applied ?? f?.versions.find((v) => v.version === f.template.latestVersion)).deleteAfterMs,
    };
    bySpec.set(key, sf);
    return sf;
  };
  const specHashes = new Map<FactsVersion, string>();
  const updateAvailable = (s: Space, target: FactsVersion | null): boolean => {
    if (!target || !s.appliedHash || s.appliedHash === target.contentHash) return false;
    let spec = specHashes.get(target);
    if (spec === undefined) specHashes.set(target, (spec = specHash(target.content)));
    return s.appliedHash !== spec && isUpdateAvailable(s.appliedHash, target.contentHash);
  };
  const views = new Array<ReturnType<typeof spaceJson>>(spaces.length);
  for (let i = 0; i < spaces.length; i++) {
    const s = spaces[i]!;
    const sf = specFacts(s);
    const lastOperation: Operation | null = s.lastOperationId ? (operations.get(s.lastOperationId) ?? null) : null;
    const dormant = dormancy.get(s.id);
    const exempt = dormant?.exempt ?? false;
    views[i] = spaceJson(s, {
      ownerName: owners.get(s.ownerId) ?? s.ownerId,
      templateName: sf.templateName ?? s.templateId,
      secretParameters: sf.secretParameters,
      updateAvailable: updateAvailable(s, sf.target),
      volumes: volumes.get(s.id) ?? [],
      lastOperation,
      agent: agentView(s, agents.get(s.id) ?? null, now),
      publicPorts: sf.publicPorts,
      role: roles.get(s.id) ?? null,
      autostart: autostarts.get(s.id) ?? null,
      dormancyExempt: exempt,
      deletesAt: dormantDeletesAt({
        since: dormantSince(s, lastOperation),
        deleteAfterMs: sf.deleteAfterMs,
        exempt,
        warnedAt: dormant?.warnedAt ?? null,
        warnedSince: dormant?.warnedSince ?? null,
        warnedDeletesAt: dormant?.warnedDeletesAt ?? null,
      }),
    });
  }
  return views;
}

export async function spaceView(svc: Services, space: Space, actor: Actor) {
  const [view] = await spaceViews(svc, [space], actor);
  if (!view) throw new KnotError(ErrorType.Internal, 'space view missing');
  return view;
}
