/** A user's own API tokens: list, create (secret shown once), revoke. Admins may revoke any token. */
import { ErrorType, KnotError } from '../../core/errors';
import { issueToken } from '../auth';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, noContent, problems } from '../schemas/common';
import { createTokenBody, createdTokenView, tokenList } from '../schemas/tokens';
import { tokenJson } from '../views';
import { expiryOf } from './users';

const BASE = '/api/v1/tokens';

export const tokenRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'tokens',
    summary: "The caller's tokens (newest first, revoked ones included)",
    auth: 'user',
    responses: { 200: { description: 'tokens, without secrets', schema: tokenList }, ...problems(...AUTH_PROBLEMS) },
    async handler({ svc, actor }) {
      return { status: 200, body: { items: (await svc.store.tokens.listOfUser(actor.user.id)).map(tokenJson) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'tokens',
    summary: 'Create a token for the caller; the secret is in the answer and never again',
    auth: 'user',
    body: { 'application/json': createTokenBody },
    audit: { action: 'token.create', resourceType: 'token' },
    responses: { 201: { description: 'created; `token` is the secret', schema: createdTokenView }, ...problems(400, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, body, audit }) {
      const now = svc.now();
      const { secret, token } = await issueToken(svc.store, { id: svc.newId(), userId: actor.user.id, name: body.name, expiresAt: expiryOf(body.expiresAt, now) }, now);
      audit.resourceId = token.id;
      return { status: 201, body: { ...tokenJson(token), token: secret }, headers: { Location: `${BASE}/${token.id}`, 'Cache-Control': 'no-store' } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:id`,
    tag: 'tokens',
    summary: 'Revoke a token (own; admins: any)',
    auth: 'user',
    audit: { action: 'token.revoke', resourceType: 'token' },
    responses: { 204: noContent, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const t = await svc.store.tokens.get(params.id ?? '');
      if (!t || (t.userId !== actor.user.id && !actor.isAdmin)) throw new KnotError(ErrorType.NotFound, `token '${params.id}' not found`);
      await svc.store.tokens.revoke(t.id, svc.now());
      return { status: 204 };
    },
  }),
];
