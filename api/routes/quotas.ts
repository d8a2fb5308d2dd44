/** A user's usage against their effective quota limits (core/quotas.ts). */
import { ErrorType, KnotError } from '../../core/errors';
import { requireUser } from '../lookup';
import { usageAndLimits } from '../quota-check';
import { usageJson } from '../quota-views';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { quotaUsageView } from '../schemas/quotas';

export const quotaRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/users/:id/usage',
    tag: 'users',
    summary: "A user's usage against their quota limits (`me`: the caller); users may read their own",
    description: 'The effective limit of each quota is the user\'s own where set, else the most generous of their groups\' limits, else none (`source` says which).',
    auth: 'user',
    responses: { 200: { description: 'usage and limits', schema: quotaUsageView }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const u = params.id === 'me' ? actor.user : await requireUser(svc.store, params.id ?? '');
      if (!actor.isAdmin && u.id !== actor.user.id) throw new KnotError(ErrorType.NotFound, `user '${params.id}' not found`);
      const { usage, limits } = await usageAndLimits(svc.store, u.id);
      return { status: 200, body: usageJson(u.username, usage, limits) };
    },
  }),
];
