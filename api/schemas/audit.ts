import { z } from 'zod';
import { AUDIT_OUTCOMES } from '../../store/model';
import { isoTime, limitParam } from './common';

export const listAuditQuery = z.strictObject({
  actor: z.string().max(64).optional(),
  action: z.string().max(64).optional(),
  resourceType: z.string().max(32).optional(),
  resourceId: z.string().max(128).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: limitParam,
  cursor: z.string().max(512).optional(),
});

export const auditView = z
  .object({
    id: z.number().int(),
    at: isoTime,
    actor: z.string(),
    actorId: z.string().nullable(),
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string().nullable(),
    outcome: z.enum(AUDIT_OUTCOMES),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

export const auditList = z.object({ items: z.array(auditView), nextCursor: z.string().nullable() }).meta({ id: 'AuditList' });
