/** Admin CRUD for users (plus: anyone may read themselves). Deactivating revokes every token and session. */
import { ErrorType, KnotError, type FieldError } from '../../core/errors';
import type { User } from '../../store/model';
import { issueToken } from '../auth';
import type { Services } from '../context';
import { requireUser } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, noContent, problems } from '../schemas/common';
import { createTokenBody, createdTokenView } from '../schemas/tokens';
import { createUserBody, updateUserBody, userList, userView } from '../schemas/users';
import { tokenJson, userJson } from '../views';
import { applyQuotaPatch } from '../../core/quotas';
import { quotaJson } from '../quota-views';

const BASE = '/api/v1/users';

async function view(svc: Services, u: User) {
  const quota = (await svc.store.quotas.limitsOf('user', [u.id])).get(u.id) ?? null;
  return { ...userJson(u, await svc.store.groups.namesOfUser(u.id)), quota: quotaJson(quota) };
}

/**
 * An admin never locks themselves out: deactivating, demoting or deleting your own account is
 * refused whatever other admins exist (one slip and only another admin could undo it). Another
 * admin may do it to you. `errors` name the fields that asked for it.
 */
function guardSelf(actor: { user: User }, u: User, what: string, errors: FieldError[] = []): void {
  if (u.id !== actor.user.id) return;
  throw new KnotError(ErrorType.SelfLockout, `you cannot ${what} your own account: ask another admin`, { errors, details: { user: u.username } });
}

/**
 * The last active admin can't be demoted, deactivated or deleted: nobody could administer knot.
 * Behind guardSelf a safety net: an admin acting on another admin is an active admin too.
 */
async function guardLastAdmin(svc: Services, u: User, what: string): Promise<void> {
  if (u.role === 'admin' && u.active && (await svc.store.users.countActiveAdmins()) <= 1) {
    throw new KnotError(ErrorType.Conflict, `cannot ${what} the last active admin`, { details: { user: u.username } });
  }
}

export const userRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'users',
    summary: 'List users',
    auth: 'admin',
    responses: { 200: { description: 'all users', schema: userList }, ...problems(403, ...AUTH_PROBLEMS) },
    async handler({ svc }) {
      const users = await svc.store.users.list();
      return { status: 200, body: { items: await Promise.all(users.map((u) => view(svc, u))) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'users',
    summary: 'Create a user',
    auth: 'admin',
    body: { 'application/json': createUserBody },
    audit: { action: 'user.create', resourceType: 'user' },
    responses: { 201: { description: 'created', schema: userView }, ...problems(400, 403, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, body, audit }) {
      audit.resourceId = body.username;
      const groups = body.groups ?? [];
      const found = await svc.store.groups.getByNames(groups);
      const missing = groups.map((g, i) => ({ g, i })).filter(({ g }) => !found.some((f) => f.name === g));
      if (missing.length) {
        throw new KnotError(ErrorType.Validation, `unknown group(s): ${missing.map((m) => m.g).join(', ')}`, {
          errors: missing.map(({ g, i }) => ({ path: `groups[${i}]`, message: `unknown group '${g}'` })),
        });
      }
      const now = svc.now();
      const id = svc.newId();
      const user = await svc.store.transaction(async (tx) => {
        const u = await tx.users.insert({ id, username: body.username, email: body.email, timezone: body.timezone, role: body.role, active: body.active }, now);
        for (const g of found) await tx.groups.update(g.id, { memberIds: [...new Set([...g.memberIds, id])] }, now);
        return u;
      });
      audit.resourceId = user.id;
      return { status: 201, body: await view(svc, user), headers: { Location: `${BASE}/${user.id}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:id`,
    tag: 'users',
    summary: 'One user (by id or username); users may read themselves',
    auth: 'user',
    responses: { 200: { description: 'the user', schema: userView }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const u = await requireUser(svc.store, params.id ?? '');
      if (!actor.isAdmin && u.id !== actor.user.id) throw new KnotError(ErrorType.NotFound, `user '${params.id}' not found`);
      return { status: 200, body: await view(svc, u) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: `${BASE}/:id`,
    tag: 'users',
    summary: 'Change email, timezone, role, active or quota; deactivating revokes the user\'s tokens',
    auth: 'admin',
    body: { 'application/json': updateUserBody },
    audit: { action: 'user.update', resourceType: 'user' },
    responses: { 200: { description: 'updated', schema: userView }, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, body, audit }) {
      const u = await requireUser(svc.store, params.id ?? '');
      audit.resourceId = u.id;
      audit.detail = { changed: Object.keys(body) };
      const lockout: FieldError[] = [
        ...(body.active === false ? [{ path: 'active', message: 'you cannot deactivate your own account' }] : []),
        ...(body.role === 'user' ? [{ path: 'role', message: 'you cannot remove the admin role from your own account' }] : []),
      ];
      if (lockout.length) guardSelf(actor, u, body.active === false ? 'deactivate' : 'demote', lockout);
      if (body.active === false) await guardLastAdmin(svc, u, 'deactivate');
      if (body.role === 'user') await guardLastAdmin(svc, u, 'demote');
      const now = svc.now();
      await svc.store.transaction(async (tx) => {
        const { quota, ...fields } = body;
        await tx.users.update(u.id, fields, now);
        if (quota) await tx.quotas.setLimits('user', u.id, applyQuotaPatch((await tx.quotas.limitsOf('user', [u.id])).get(u.id) ?? null, quota), now);
        if (body.active === false) {
          await tx.tokens.revokeAllOfUser(u.id, now);
          await tx.sessions.revokeAllOfUser(u.id, now);
        }
      });
      return { status: 200, body: await view(svc, (await svc.store.users.get(u.id))!) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:id`,
    tag: 'users',
    summary: 'Delete a user who owns no spaces (deactivate users with history instead)',
    auth: 'admin',
    audit: { action: 'user.delete', resourceType: 'user' },
    responses: { 204: noContent, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      const u = await requireUser(svc.store, params.id ?? '');
      audit.resourceId = u.id;
      guardSelf(actor, u, 'delete');
      await guardLastAdmin(svc, u, 'delete');
      const spaces = await svc.store.spaces.countOwnedBy(u.id, true);
      if (spaces > 0) {
        throw new KnotError(ErrorType.Conflict, `user '${u.username}' owns ${spaces} space(s) (live or retained); delete them or deactivate the user instead`, {
          details: { spaces },
        });
      }
      await svc.store.users.delete(u.id);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/:id/tokens`,
    tag: 'tokens',
    summary: 'Issue a token for a user (admin); the secret is shown once',
    auth: 'admin',
    body: { 'application/json': createTokenBody },
    audit: { action: 'token.create', resourceType: 'user' },
    responses: { 201: { description: 'created; `token` is the secret', schema: createdTokenView }, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, params, body, audit }) {
      const u = await requireUser(svc.store, params.id ?? '');
      audit.resourceId = u.id;
      if (!u.active) throw new KnotError(ErrorType.Conflict, `user '${u.username}' is inactive`);
      const expiresAt = expiryOf(body.expiresAt, svc.now());
      const { secret, token } = await issueToken(svc.store, { id: svc.newId(), userId: u.id, name: body.name, expiresAt }, svc.now());
      return { status: 201, body: { ...tokenJson(token), token: secret }, headers: { 'Cache-Control': 'no-store' } };
    },
  }),
];

/** An ISO expiry → ms; one in the past is a 400 (a token that never works is a mistake). */
export function expiryOf(expiresAt: string | undefined, now: number): number | null {
  if (expiresAt === undefined) return null;
  const ms = Date.parse(expiresAt);
  if (!(ms > now)) throw new KnotError(ErrorType.Validation, 'expiresAt must be in the future', { errors: [{ path: 'expiresAt', message: 'must be in the future' }] });
  return ms;
}

