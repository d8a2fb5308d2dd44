/** The audit log on SQL (`audit_log`). */
import type { AuditEntry, AuditOutcome } from '../model';
import type { AuditRepository } from '../store';
import { toJson, type Queryable } from './db';

function fromRow(r: Record<string, unknown>): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    actorId: (r.actor_id as string | null) ?? null,
    actor: r.actor as string,
    action: r.action as string,
    resourceType: r.resource_type as string,
    resourceId: (r.resource_id as string | null) ?? null,
    outcome: r.outcome as AuditOutcome,
    detail: toJson(r.detail_json, {}),
  };
}

export function sqlAudit(db: Queryable): AuditRepository {
  return {
    async append(e) {
      await db('audit_log').insert({
        at: e.at,
        actor_id: e.actorId,
        actor: e.actor.slice(0, 64),
        action: e.action.slice(0, 64),
        resource_type: e.resourceType.slice(0, 32),
        resource_id: e.resourceId === null ? null : e.resourceId.slice(0, 128),
        outcome: e.outcome,
        detail_json: JSON.stringify(e.detail),
      });
    },

    async list(f) {
      const q = db('audit_log');
      if (f.actor) q.where('actor', f.actor);
      if (f.action) q.where('action', f.action);
      if (f.resourceType) q.where('resource_type', f.resourceType);
      if (f.resourceId) q.where('resource_id', f.resourceId);
      if (f.outcome) q.where('outcome', f.outcome);
      if (f.since !== undefined) q.where('at', '>=', f.since);
      if (f.until !== undefined) q.where('at', '<', f.until);
      if (f.beforeId !== undefined) q.where('id', '<', f.beforeId);
      const rows = await q.orderBy('id', 'desc').limit(f.limit);
      return rows.map(fromRow);
    },

    async pruneBefore(before) {
      return db('audit_log').where('at', '<', before).delete();
    },
  };
}
