/**
 * Sharing a space (core/space-roles.ts has the rules): the owner or an admin shares it with a user
 * or a group as `viewer` or `user`; anyone who sees the space sees who it is shared with; the
 * owner, an admin, or the recipient leaving their own user share revokes one. A change takes
 * effect at once: the space's SSH server gets the keys it accepts now, and the open terminals, SSH
 * connections and forwarded ports of users who lost access close (Services.spaceAccessChanged).
 */
import { ErrorType, KnotError, notFound } from '../../core/errors';
import type { SpaceShare } from '../../store/model';
import type { Services } from '../context';
import { findUser } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, iso, problems } from '../schemas/common';
import { createShareBody, shareList, shareView } from '../schemas/shares';
import { findSpaceWithRole, findVisibleSpace } from '../space-views';
import { API_BASE } from '../views';

const BASE = `${API_BASE}/spaces/:id/shares`;

function fieldError(path: string, message: string): KnotError {
  return new KnotError(ErrorType.Validation, `${path}: ${message}`, { errors: [{ path, message }] });
}

/** Share JSON for many shares, loading the users they name once. */
async function shareViews(svc: Services, shares: SpaceShare[]) {
  const ids = [...new Set(shares.flatMap((s) => [s.createdBy, ...(s.userId ? [s.userId] : [])]))];
  const names = new Map((await svc.store.users.getByIds(ids)).map((u) => [u.id, u.username]));
  return shares.map((s) => ({
    id: s.id,
    spaceId: s.spaceId,
    user: s.userId === null ? null : (names.get(s.userId) ?? s.userId),
    userId: s.userId,
    group: s.groupName,
    role: s.role,
    createdBy: names.get(s.createdBy) ?? s.createdBy,
    createdAt: iso(s.createdAt),
  }));
}

/** Tells the agent links; how many sessions closed (0 when no API server holds links, e.g. in-process tests). */
async function accessChanged(svc: Services, spaceId: string): Promise<number> {
  try {
    return (await svc.spaceAccessChanged?.(spaceId)) ?? 0;
  } catch (e) {
    svc.logger.warn({ err: e, spaceId }, 'could not apply the access change to the live sessions');
    return 0;
  }
}

export const spaceShareRoutes: RouteDef[] = [
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'spaces',
    summary: 'Share the space with a user or a group as viewer or user (owner or admin) → 201',
    description:
      'Give exactly one of `user` (a username) and `group` (a group name). A space is shared with a recipient once (409 when it is already: revoke, then share again to change the role). ' +
      'A `user` share lets its recipients start, stop and restart the space and get in; their SSH keys are accepted by the space while the share lasts.',
    auth: 'user',
    body: { 'application/json': createShareBody },
    audit: { action: 'space.share', resourceType: 'space' },
    responses: { 201: { description: 'shared', schema: shareView }, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, body, audit }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', undefined, 'manage');
      audit.resourceId = space.id;
      audit.detail = { ...(body.user ? { user: body.user } : { group: body.group }), role: body.role };
      let userId: string | null = null;
      let groupName: string | null = null;
      if (body.user !== undefined) {
        const u = await findUser(svc.store, body.user);
        if (!u || !u.active) throw fieldError('user', `unknown or inactive user '${body.user}'`);
        if (u.id === space.ownerId) throw fieldError('user', `'${body.user}' owns the space`);
        userId = u.id;
      } else {
        const g = await svc.store.groups.getByName(body.group ?? '');
        if (!g) throw fieldError('group', `unknown group '${body.group}'`);
        groupName = g.name;
      }
      // the event tells every API replica (their agent links follow the log) and the webhooks
      const share = await svc.store.transaction(async (tx) => {
        const added = await tx.shares.insert({ id: svc.newId(), spaceId: space.id, userId, groupName, role: body.role, createdBy: actor.user.id }, svc.now());
        await tx.events.append({ type: 'space.shared', spaceId: space.id, operationId: null }, svc.now());
        return added;
      });
      audit.detail.shareId = share.id;
      await accessChanged(svc, space.id);
      const [view] = await shareViews(svc, [share]);
      return { status: 201, body: view!, headers: { Location: `${API_BASE}/spaces/${space.id}/shares/${share.id}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'spaces',
    summary: 'Who the space is shared with (anyone who sees the space), oldest first',
    auth: 'user',
    responses: { 200: { description: 'the shares', schema: shareList }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '');
      return { status: 200, body: { items: await shareViews(svc, await svc.store.shares.listOfSpace(space.id)) } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:shareId`,
    tag: 'spaces',
    summary: "Revoke a share (owner or admin; a recipient may leave their own user share) → 204; the recipients' open sessions close",
    auth: 'user',
    audit: { action: 'space.unshare', resourceType: 'space' },
    responses: { 204: { description: 'revoked' }, ...problems(403, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      const { space, role } = await findSpaceWithRole(svc, actor, params.id ?? '');
      audit.resourceId = space.id;
      const share = await svc.store.shares.get(params.shareId ?? '');
      if (!share || share.spaceId !== space.id) throw notFound('share', params.shareId ?? '');
      const ownShare = share.userId === actor.user.id;
      if (role !== 'owner' && role !== 'admin' && !ownShare) {
        throw new KnotError(ErrorType.Forbidden, `your role on space '${space.name}' is ${role}: only its owner or an admin revokes others' shares (you may leave your own)`, { details: { role } });
      }
      await svc.store.transaction(async (tx) => {
        await tx.shares.delete(share.id);
        await tx.events.append({ type: 'space.shared', spaceId: space.id, operationId: null }, svc.now());
      });
      const closed = await accessChanged(svc, space.id);
      audit.detail = { shareId: share.id, ...(share.userId ? { userId: share.userId } : { group: share.groupName }), role: share.role, closedSessions: closed, ...(ownShare && role !== 'owner' ? { left: true } : {}) };
      return { status: 204 };
    },
  }),
];
