import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { whoamiView } from '../schemas/users';
import { userJson } from '../views';

export const whoamiRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/whoami',
    tag: 'users',
    summary: 'The caller: user, role and groups',
    auth: 'user',
    responses: { 200: { description: 'the caller', schema: whoamiView }, ...problems(...AUTH_PROBLEMS) },
    async handler({ svc, actor }) {
      const groups = await svc.store.groups.namesOfUser(actor.user.id);
      return { status: 200, body: { user: userJson(actor.user, groups), tokenId: actor.tokenId, sessionId: actor.sessionId, isAdmin: actor.isAdmin } };
    },
  }),
];
