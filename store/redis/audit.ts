/**
 * The audit log: a counter (`audit:seq`) and a sorted set (`audit`) scored by id, each member
 * `<id>:<JSON entry without id>`, plus `audit:at` (score = at, member = id) so `pruneBefore`
 * finds old entries without reading the log. Listing walks the log newest first in chunks,
 * applying the filters, until `limit` entries match.
 */
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../model';
import type { AuditRepository } from '../store';
import { storeInternal } from './errors';
import type { Keys } from './keys';
import { parseJson, type Kv } from './kv';

/** Entries read per round trip when filters may drop some; and dropped per round by `pruneBefore`. */
const CHUNK = 500;

function matches(e: AuditEntry, f: AuditFilter): boolean {
  // truthy checks for the strings, as SQL's `if (f.actor)`
  return (
    (!f.actor || e.actor === f.actor) &&
    (!f.action || e.action === f.action) &&
    (!f.resourceType || e.resourceType === f.resourceType) &&
    (!f.resourceId || e.resourceId === f.resourceId) &&
    (!f.outcome || e.outcome === f.outcome) &&
    (f.since === undefined || e.at >= f.since) &&
    (f.until === undefined || e.at < f.until)
  );
}

const filtered = (f: AuditFilter) => Boolean(f.actor || f.action || f.resourceType || f.resourceId || f.outcome || f.since !== undefined || f.until !== undefined);

export function redisAudit(kv: Kv, keys: Keys): AuditRepository {
  return {
    append: (e: NewAuditEntry) =>
      kv.write(async (tx) => {
        // checked before the script runs: a script failing halfway keeps what it already wrote
        if (!Number.isFinite(e.at)) throw storeInternal(`an audit entry needs a time (at: ${String(e.at)})`);
        // the SQL columns' widths, so both stores answer the same
        const stored: NewAuditEntry = {
          at: e.at,
          actorId: e.actorId,
          actor: e.actor.slice(0, 64),
          action: e.action.slice(0, 64),
          resourceType: e.resourceType.slice(0, 32),
          resourceId: e.resourceId === null ? null : e.resourceId.slice(0, 128),
          outcome: e.outcome,
          detail: e.detail ?? {},
        };
        tx.appendLog({ counterKey: keys.auditCounter, logKey: keys.audit, payload: JSON.stringify(stored), byTime: { key: keys.auditByTime, score: e.at } });
      }),

    list: async (f) => {
      const out: AuditEntry[] = [];
      let max = f.beforeId !== undefined ? `(${f.beforeId}` : '+inf';
      const pageSize = filtered(f) ? Math.max(f.limit, CHUNK) : f.limit;
      while (out.length < f.limit) {
        const entries = await kv.logs.range(keys.audit, { min: '-inf', max, reverse: true, count: pageSize });
        for (const { id, payload } of entries) {
          const e = { id, ...(parseJson<NewAuditEntry>(payload, keys.audit) as NewAuditEntry) };
          if (!matches(e, f)) continue;
          out.push(e);
          if (out.length >= f.limit) break;
        }
        if (entries.length < pageSize) break;
        max = `(${(entries[entries.length - 1] as { id: number }).id}`;
      }
      return out;
    },

    pruneBefore: async (before) => {
      let removed = 0;
      for (;;) {
        const ids = await kv.logs.idsBefore(keys.auditByTime, before, CHUNK);
        if (ids.length === 0) return removed;
        removed += await kv.logs.remove(keys.audit, keys.auditByTime, ids);
      }
    },
  };
}
