/**
 * Giving a space to another owner: `POST /spaces/:id/transfer {"to": "<username>"}` (owner or
 * admin). Only a stopped space with no operation running moves, to an active user the template
 * allows, who has no space of that name. The record changes owner and nothing else: the volume
 * records keep their ids, so the next start keeps (not re-creates) the Nomad volumes and their
 * data, while the job is rendered anew with the new owner (its name has `user.username` in the
 * seed templates). A template whose VOLUME ids depend on the owner would orphan the volumes and
 * create empty ones: such a transfer is refused (409) rather than losing data.
 *
 * Shares are kept (the space stays shared with whom it was); a share to the new owner is dropped,
 * since the owner needs none, and the audit entry says so. The previous owner keeps no access
 * unless a share gives it. A `space.transferred` event is recorded (under the new owner).
 */
import { ErrorType, KnotError } from '../../core/errors';
import type { TemplateContent } from '../../core/template';
import { renderVolumeDefinitions } from '../../core/volumes';
import { quotaRefusal, usageOf } from '../../core/quotas';
import type { Space, User } from '../../store/model';
import type { Repositories } from '../../store/store';
import { holdingsOf, limitsOf } from '../../store/quota-guard';
import { loadRenderContext, renderSettingsOf } from '../../store/render-context';
import type { Services } from '../context';
import { findUser, templateAllows } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { transferBody } from '../schemas/shares';
import { spaceView as spaceViewSchema } from '../schemas/spaces';
import { findVisibleSpace, resolvedVersion, spaceView, templateFacts } from '../space-views';
import { API_BASE } from '../views';

function toError(message: string, type: KnotError['type'] = ErrorType.Conflict): KnotError {
  return new KnotError(type, `to: ${message}`, { errors: [{ path: 'to', message }] });
}

/**
 * The new owner's quotas, inside the transfer's transaction under their quota lock (so a start or
 * another transfer racing for their last units waits): the space adds one to `maxSpaces` and, when
 * its volumes exist, its storage units (it is stopped: no compute). A refusal is the usual 403
 * `quota_exceeded`, saying whose quota it is.
 */
async function checkQuotaOfNewOwner(tx: Repositories, newOwner: User, space: Space, now: number): Promise<void> {
  await tx.quotas.lockOwner(newOwner.id, now);
  const [theirs, limits, mine] = await Promise.all([holdingsOf(tx, newOwner.id), limitsOf(tx, newOwner.id), holdingsOf(tx, space.ownerId)]);
  const held = mine.get(space.id);
  const request = { maxSpaces: 1, storageUnits: held?.hasVolumes ? held.units.storage : 0 };
  const refusal = quotaRefusal(limits, usageOf([...theirs.values()]), request);
  if (refusal) throw new KnotError(refusal.type, `${newOwner.username}'s ${refusal.message}`, { details: { ...refusal.details, user: newOwner.username } });
}

/** The volume ids (with their type) the space's next start would want, rendered for `owner`. */
async function volumeIdsFor(svc: Services, space: Space, ownerId: string): Promise<string[]> {
  const facts = await templateFacts(svc, space.templateId);
  const target = facts ? resolvedVersion(facts, space.templateRef) : null;
  if (!facts || !target) throw new KnotError(ErrorType.Conflict, `no template version matches '${space.templateRef || 'latest'}' for space '${space.name}': update it before transferring it`);
  const yaml = (target.content as unknown as TemplateContent).volumes ?? '';
  if (!yaml.trim()) return [];
  const ctx = await loadRenderContext(svc.store, renderSettingsOf(svc.config), { ...space, ownerId }, facts.template);
  return renderVolumeDefinitions(yaml, ctx)
    .map((v) => `${v.type}:${v.id}`)
    .sort();
}

export const spaceTransferRoutes: RouteDef[] = [
  defineRoute({
    method: 'post',
    path: `${API_BASE}/spaces/:id/transfer`,
    tag: 'spaces',
    summary: 'Give a stopped space to another user (owner or admin); its volumes and data go with it',
    description:
      '409 when the space is not stopped or an operation runs on it, when the new owner has a space of that name, when the template does not allow the new owner (its groups), ' +
      'or when the template names its volumes after the owner (they would be orphaned). The space keeps its id, volumes and shares (a share to the new owner is dropped); the next start registers the job rendered for the new owner.',
    auth: 'user',
    body: { 'application/json': transferBody },
    audit: { action: 'space.transfer', resourceType: 'space' },
    responses: { 200: { description: 'transferred: the space as it is now', schema: spaceViewSchema }, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, body, audit }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', undefined, 'manage');
      audit.resourceId = space.id;
      const to = await findUser(svc.store, body.to);
      if (!to || !to.active) throw toError(`unknown or inactive user '${body.to}'`, ErrorType.Validation);
      if (to.id === space.ownerId) throw toError(`'${body.to}' already owns the space`, ErrorType.Validation);
      const from = (await svc.store.users.get(space.ownerId))?.username ?? space.ownerId;
      audit.detail = { from, to: to.username };
      if (space.phase !== 'stopped') {
        throw new KnotError(ErrorType.SpaceNotStopped, `space '${space.name}' is ${space.phase}; stop it before transferring it`, { details: { phase: space.phase } });
      }
      const template = await svc.store.templates.get(space.templateId);
      const groups = await svc.store.groups.namesOfUser(to.id);
      if (!template || !templateAllows({ isAdmin: to.role === 'admin', groups }, template.groups)) {
        throw toError(`template '${template?.name ?? space.templateId}' is not allowed to '${to.username}' (its groups: ${template?.groups.join(', ') || 'none'})`);
      }
      if (await svc.store.spaces.getByName(to.id, space.name)) throw toError(`'${to.username}' already has a space named '${space.name}'`);
      const [before, after] = await Promise.all([volumeIdsFor(svc, space, space.ownerId), volumeIdsFor(svc, space, to.id)]);
      if (before.join('\n') !== after.join('\n')) {
        throw new KnotError(
          ErrorType.Conflict,
          `template '${template.name}' names the volumes of space '${space.name}' after its owner (${before.join(', ')} would become ${after.join(', ')}): transferring it would orphan its volumes and their data`,
          { details: { volumes: before, forNewOwner: after } },
        );
      }
      const dropped = await svc.store.transaction(async (tx) => {
        // checked again where it counts: a start or another transfer may have come in between
        const now = await tx.spaces.get(space.id);
        if (!now || now.deletedAt || now.ownerId !== space.ownerId) throw new KnotError(ErrorType.Conflict, `space '${space.name}' changed meanwhile; try again`);
        if (now.phase !== 'stopped') throw new KnotError(ErrorType.SpaceNotStopped, `space '${space.name}' is ${now.phase}; stop it before transferring it`, { details: { phase: now.phase } });
        const running = await tx.operations.active(space.id);
        if (running) throw new KnotError(ErrorType.OperationInProgress, `operation ${running.id} (${running.type}) is running on this space; retry when it has finished`, { details: { operationId: running.id } });
        await checkQuotaOfNewOwner(tx, to, now, svc.now());
        await tx.spaces.transfer(space.id, to.id, svc.now());
        const redundant = (await tx.shares.listOfSpace(space.id)).filter((s) => s.userId === to.id);
        for (const s of redundant) await tx.shares.delete(s.id);
        await tx.events.append({ type: 'space.transferred', spaceId: space.id, operationId: null }, svc.now());
        return redundant.map((s) => s.id);
      });
      audit.detail = { from, to: to.username, keptVolumes: before, ...(dropped.length ? { droppedShares: dropped } : {}) };
      await svc.spaceAccessChanged?.(space.id).catch((e: unknown) => svc.logger.warn({ err: e, spaceId: space.id }, 'could not apply the transfer to the live sessions'));
      const moved = await svc.store.spaces.require(space.id);
      return { status: 200, body: await spaceView(svc, moved, actor) };
    },
  }),
];
