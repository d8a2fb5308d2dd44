import { ErrorType, KnotError, notFound } from '../../core/errors';
import { refusalOf, roleAllows, type SpaceAction } from '../../core/space-roles';
import type { Operation } from '../../store/model';
import type { Actor, Services } from '../context';
import { roleOn } from '../space-roles';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, iso, problems } from '../schemas/common';
import { operationAccepted, operationDetailView } from '../schemas/spaces';
import { operationJson } from '../views';

const BASE = '/api/v1/operations';

/** An operation of a space the caller may see; anything else is 404 (never reveal others'). */
async function visibleOperation(svc: Services, actor: Actor, id: string, action: SpaceAction = 'view'): Promise<Operation> {
  const op = await svc.store.operations.get(id);
  const space = op ? await svc.store.spaces.get(op.spaceId) : null;
  // operations of deleted spaces stay readable (the delete operation itself, the audit trail)
  const role = space ? await roleOn(svc, actor, space) : null;
  if (!op || !space || !role) throw notFound('operation', id);
  if (!roleAllows(role, action)) throw new KnotError(ErrorType.Forbidden, refusalOf(role, action, space.name), { details: { role } });
  return op;
}

export const operationRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: `${BASE}/:id`,
    tag: 'operations',
    summary: 'One operation (of a space the caller may see) with its step timeline',
    auth: 'user',
    responses: { 200: { description: 'the operation and every step with start, end and outcome', schema: operationDetailView }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const op = await visibleOperation(svc, actor, params.id ?? '');
      const steps = (await svc.store.steps.list(op.id)).map((s) => ({
        name: s.name,
        startedAt: iso(s.startedAt),
        finishedAt: iso(s.finishedAt),
        durationMs: s.finishedAt === null ? null : s.finishedAt - s.startedAt,
        outcome: s.outcome,
        message: s.message,
      }));
      return { status: 200, body: { ...operationJson(op), steps } };
    },
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/:id/cancel`,
    tag: 'operations',
    summary: 'Cancel a running operation → 202; it compensates and ends `cancelled` (409 when finished)',
    description: 'Owners may cancel operations on their own spaces; admins any. The workflow undoes what this run created (jobs, new volumes); volumes that existed before stay.',
    auth: 'user',
    audit: { action: 'operation.cancel', resourceType: 'operation' },
    responses: { 202: { description: 'cancellation requested; follow the operation or the event stream', schema: operationAccepted }, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      // cancelling stops a start or stop: as starting and stopping (a `user` share may)
      const op = await visibleOperation(svc, actor, params.id ?? '', 'operate');
      audit.detail = { spaceId: op.spaceId, type: op.type };
      if (op.status !== 'pending' && op.status !== 'running') {
        throw new KnotError(ErrorType.OperationFinished, `operation ${op.id} has already finished (${op.status})`, { details: { operationId: op.id, status: op.status } });
      }
      if (!svc.lifecycle.cancelOperation) throw new KnotError(ErrorType.Unavailable, 'cancelling is not available on this server');
      await svc.lifecycle.cancelOperation(op);
      return { status: 202, body: { operation: operationJson((await svc.store.operations.get(op.id)) ?? op) }, headers: { Location: `${BASE}/${op.id}` } };
    },
  }),
];
