/**
 * Web sign-in: POST /auth/login (username + password, or an API token) opens a server-side
 * session in an HttpOnly cookie; /auth/logout closes it; /sessions lists and revokes them; and
 * POST /users/:id/password sets a password (admins for anyone, users for themselves).
 * Failed sign-ins count against the address and the username like failed tokens; a right
 * password is always accepted.
 */
import { hashToken } from '../../core/crypto';
import { ErrorType, KnotError } from '../../core/errors';
import type { Session, User } from '../../store/model';
import { clientIp, rateLimited, TOKEN_PREFIX_LENGTH } from '../auth';
import type { Services } from '../context';
import { requireUser } from '../lookup';
import { decoyHash, hashPassword, verifyPassword } from '../passwords';
import { definePublicRoute, defineRoute, type RouteDef } from '../route';
import { clearSessionCookies, startSession } from '../sessions';
import { loginBody, loginView, sessionList, setPasswordBody } from '../schemas/auth';
import { AUTH_PROBLEMS, iso, noContent, problems } from '../schemas/common';
import { userJson } from '../views';
import type { Request } from 'express';

function sessionJson(s: Session, currentId: string | null) {
  return { id: s.id, method: s.method, userAgent: s.userAgent, ip: s.ip, current: s.id === currentId, createdAt: iso(s.createdAt), lastUsedAt: iso(s.lastUsedAt), expiresAt: iso(s.expiresAt) };
}

/** The user a credential names, or null; the time taken does not tell whether the username exists. */
async function checkCredentials(svc: Services, body: { username: string; password: string } | { token: string }): Promise<{ user: User | null; method: 'password' | 'token'; limitKey: string | null }> {
  const now = svc.now();
  if ('token' in body) {
    const row = await svc.store.tokens.findUsableByHash(hashToken(body.token), now);
    const user = row ? await svc.store.users.get(row.userId) : null;
    return { user: user?.active ? user : null, method: 'token', limitKey: body.token.slice(0, TOKEN_PREFIX_LENGTH) };
  }
  // usernames are lowercase by rule; looking up the lowercased name makes SQLite answer as MariaDB's
  // case-insensitive comparison does
  const user = await svc.store.users.getByUsername(body.username.toLowerCase());
  const stored = user ? await svc.store.users.getPasswordHash(user.id) : null;
  const ok = await verifyPassword(stored ?? (await decoyHash()), body.password);
  return { user: ok && stored && user?.active ? user : null, method: 'password', limitKey: `user:${body.username.toLowerCase()}` };
}

async function auditSignIn(svc: Services, req: Request, user: User | null, attempted: string, ok: boolean, method: string): Promise<void> {
  try {
    await svc.store.audit.append({
      at: svc.now(),
      actorId: user?.id ?? null,
      actor: user?.username ?? attempted,
      action: 'auth.login',
      resourceType: 'session',
      resourceId: null,
      outcome: ok ? 'ok' : 'refused',
      detail: { method, ip: clientIp(req), status: ok ? 200 : 401 },
    });
  } catch (e) {
    svc.logger.error({ err: e }, 'could not write the audit log');
  }
}

export const authRoutes: RouteDef[] = [
  definePublicRoute({
    method: 'post',
    path: '/api/v1/auth/login',
    tag: 'auth',
    summary: 'Sign in (username + password, or an API token): sets the knot_session and knot_csrf cookies',
    description:
      'Opens a server-side session. The `knot_session` cookie is HttpOnly and SameSite=Strict (Secure when server.url is https). Requests with the cookie that change state must send `X-CSRF-Token` (the `csrfToken` here, also the `knot_csrf` cookie). Bearer-token requests need none of this.',
    body: { 'application/json': loginBody },
    responses: { 200: { description: 'signed in', schema: loginView }, ...problems(400, 401, 413, 415, 429) },
    async handler({ req, res, svc, body }) {
      const { user, method, limitKey } = await checkCredentials(svc, body);
      const attempted = 'username' in body ? body.username.slice(0, 64) : '(token)';
      if (!user) {
        const ip = clientIp(req);
        const wait = svc.limiter.failed(ip, limitKey);
        svc.logger.warn({ ip, method, limited: wait > 0 }, 'sign-in failed');
        await auditSignIn(svc, req, null, attempted, false, method);
        if (wait > 0) throw rateLimited(wait);
        throw new KnotError(ErrorType.Unauthorized, method === 'password' ? 'wrong username or password' : 'the token is not valid (unknown, expired or revoked)', {
          errors: [{ path: method === 'password' ? 'password' : 'token', message: method === 'password' ? 'wrong username or password' : 'not a valid token' }],
        });
      }
      const session = await startSession(svc, req, res, user, method);
      await auditSignIn(svc, req, user, attempted, true, method);
      const groups = await svc.store.groups.namesOfUser(user.id);
      return {
        status: 200,
        headers: { 'Cache-Control': 'no-store' },
        body: { user: userJson(user, groups), tokenId: null, sessionId: session.id, isAdmin: user.role === 'admin', csrfToken: session.csrfToken, expiresAt: iso(session.expiresAt) },
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/auth/logout',
    tag: 'auth',
    summary: 'Sign out: revokes the session of this request and clears its cookies',
    auth: 'user',
    audit: { action: 'auth.logout', resourceType: 'session' },
    responses: { 204: noContent, ...problems(403, ...AUTH_PROBLEMS) },
    async handler({ svc, res, actor, audit }) {
      if (actor.sessionId) {
        await svc.store.sessions.revoke(actor.sessionId, svc.now());
        audit.resourceId = actor.sessionId;
      }
      clearSessionCookies(svc, res);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/sessions',
    tag: 'auth',
    summary: "The caller's signed-in sessions (web UI), newest first",
    auth: 'user',
    responses: { 200: { description: 'sessions that still work', schema: sessionList }, ...problems(...AUTH_PROBLEMS) },
    async handler({ svc, actor }) {
      const items = await svc.store.sessions.listActiveOfUser(actor.user.id, svc.now());
      return { status: 200, body: { items: items.map((s) => sessionJson(s, actor.sessionId)) } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/sessions/:id',
    tag: 'auth',
    summary: 'Revoke a session (your own; admins any)',
    auth: 'user',
    audit: { action: 'session.revoke', resourceType: 'session' },
    responses: { 204: noContent, ...problems(404, 403, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const s = await svc.store.sessions.get(params.id ?? '');
      if (!s || (!actor.isAdmin && s.userId !== actor.user.id)) throw new KnotError(ErrorType.NotFound, `session '${params.id}' not found`);
      await svc.store.sessions.revoke(s.id, svc.now());
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/users/:id/password',
    tag: 'users',
    summary: "Set a user's password for web sign-in (admins: anyone; users: themselves, with the current one)",
    description: "Revokes the user's other sessions. Anyone changing their own password (admins too) must send `currentPassword` when they already have one.",
    auth: 'user',
    body: { 'application/json': setPasswordBody },
    audit: { action: 'user.set_password', resourceType: 'user' },
    responses: { 204: noContent, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, body, audit }) {
      const u = await requireUser(svc.store, params.id ?? '');
      audit.resourceId = u.id;
      const self = u.id === actor.user.id;
      if (!self && !actor.isAdmin) throw new KnotError(ErrorType.Forbidden, "only admins set other users' passwords");
      if (!u.active) throw new KnotError(ErrorType.Conflict, `user '${u.username}' is inactive`);
      // anyone changing their own password proves they know the current one, admins included: a
      // stolen admin session must not be enough to take the account over
      if (self) {
        const stored = await svc.store.users.getPasswordHash(u.id);
        if (stored && !(body.currentPassword !== undefined && (await verifyPassword(stored, body.currentPassword)))) {
          throw new KnotError(ErrorType.Validation, 'the current password is wrong', { errors: [{ path: 'currentPassword', message: 'is wrong' }] });
        }
      }
      const hash = await hashPassword(body.password);
      const now = svc.now();
      await svc.store.transaction(async (tx) => {
        await tx.users.setPasswordHash(u.id, hash, now);
        await tx.sessions.revokeAllOfUser(u.id, now, self ? actor.sessionId : null);
      });
      return { status: 204 };
    },
  }),
];
