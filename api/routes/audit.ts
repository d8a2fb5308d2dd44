import { z } from 'zod';
import { ErrorType, KnotError } from '../../core/errors';
import { defineRoute, type RouteDef } from '../route';
import { auditList, listAuditQuery } from '../schemas/audit';
import { AUTH_PROBLEMS, decodeCursor, encodeCursor, problems } from '../schemas/common';
import { auditJson } from '../views';

const cursorSchema = z.object({ b: z.number().int() });

export const auditRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/audit',
    tag: 'audit',
    summary: 'The audit log, newest first (admin)',
    auth: 'admin',
    query: listAuditQuery,
    responses: { 200: { description: 'a page of entries', schema: auditList }, ...problems(400, 403, ...AUTH_PROBLEMS) },
    async handler({ svc, query }) {
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
      if (cursor === null) throw new KnotError(ErrorType.Validation, 'query.cursor: is not a cursor from a previous page', { errors: [{ path: 'query.cursor', message: 'invalid cursor' }] });
      const rows = await svc.store.audit.list({
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(query.resourceType ? { resourceType: query.resourceType } : {}),
        ...(query.resourceId ? { resourceId: query.resourceId } : {}),
        ...(query.outcome ? { outcome: query.outcome } : {}),
        ...(query.since ? { since: Date.parse(query.since) } : {}),
        ...(query.until ? { until: Date.parse(query.until) } : {}),
        ...(cursor ? { beforeId: cursor.b } : {}),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { status: 200, body: { items: page.map(auditJson), nextCursor: rows.length > query.limit && last ? encodeCursor({ b: last.id }) : null } };
    },
  }),
];
