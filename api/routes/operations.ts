import { notFound } from '../../core/errors';
import { getOperation } from '../../store/operations';
import { getSpace } from '../../store/spaces';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { operationView } from '../schemas/spaces';
import { operationJson } from '../views';

export const operationRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/operations/:id',
    tag: 'operations',
    summary: 'One operation (of a space the caller may see)',
    auth: 'user',
    responses: { 200: { description: 'the operation', schema: operationView }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const op = await getOperation(svc.db, params.id ?? '');
      const space = op ? await getSpace(svc.db, op.spaceId) : null;
      // operations of deleted spaces stay readable (the delete operation itself, the audit trail)
      if (!op || !space || !(actor.isAdmin || space.ownerId === actor.user.id)) throw notFound('operation', params.id ?? '');
      return { status: 200, body: operationJson(op) };
    },
  }),
];
