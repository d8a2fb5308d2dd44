/**
 * The event log on SQL (`events`): every space change and operation step, written by activities
 * (and the API for template-driven changes), tailed by every API instance. Bounded: one append in
 * PRUNE_EVERY (per store) prunes what is past the retention, after its transaction commits.
 */
import { eventData, eventOperationId, type EventSpace, type KnotEvent } from '../../core/events';
import { DEFAULT_EVENT_RETENTION, type EventFacts, type StoredEvent } from '../model';
import type { EventRepository } from '../store';
import type { Queryable } from './db';
import { run, selectFirst, statementTransaction } from './fast-sql';
import { sqlWebhookCursor } from './webhooks';

const PRUNE_EVERY = 100;

/** What the store's event repositories share: the retention, the prune counter. */
export class SqlEventLog {
  retention = DEFAULT_EVENT_RETENTION;
  private appendsSincePrune = 0;

  /** Whether this append should prune; a new retention prunes on the next append. */
  dueForPrune(): boolean {
    if (++this.appendsSincePrune < PRUNE_EVERY) return false;
    this.appendsSincePrune = 0;
    return true;
  }

  setRetention(n: number): void {
    this.retention = Math.max(1, Math.floor(n));
    this.appendsSincePrune = PRUNE_EVERY;
  }
}

/** Work to run once the transaction an append belongs to has committed (the pool: at once). */
export type AfterCommit = (fn: () => Promise<void>) => void;

type SpaceAndOperationRow = { name: string; owner_id: string; phase: string; last_operation_id: string | null; op_type?: string | null; op_status?: string | null };

/** The space's facts, and those of the operation (the named one, or else the space's last) unless it is none. */
function spaceAndOperationRead(spaceId: string, named: string | null | undefined): { sql: string; bindings: string[] } {
  const space = 'select `s`.`name`, `s`.`owner_id`, `s`.`phase`, `s`.`last_operation_id`';
  if (named === null) return { sql: `${space} from \`spaces\` as \`s\` where \`s\`.\`id\` = ? limit 1`, bindings: [spaceId] };
  const operation = named === undefined ? '`s`.`last_operation_id`' : '?';
  const sql = `${space}, \`o\`.\`type\` as \`op_type\`, \`o\`.\`status\` as \`op_status\` from \`spaces\` as \`s\` left join \`operations\` as \`o\` on \`o\`.\`id\` = ${operation} where \`s\`.\`id\` = ? limit 1`;
  return { sql, bindings: named === undefined ? [spaceId] : [named, spaceId] };
}

// every space change and operation step appends: hand-written SQL on the fast path (fast-sql.ts)
async function insertEvent(db: Queryable, facts: EventFacts, now: number): Promise<number> {
  // the space's and the operation's facts as this transaction sees them, in one read: the
  // operation is the one named, or else the space's last (core/events.ts `eventOperationId`)
  const read = spaceAndOperationRead(facts.spaceId, facts.operationId);
  const row = (await selectFirst(db, read.sql, read.bindings)) as SpaceAndOperationRow | undefined;
  const space: EventSpace | null = row ? { name: row.name, ownerId: row.owner_id, phase: row.phase, lastOperationId: row.last_operation_id } : null;
  const operationId = eventOperationId(facts, space);
  let op: { type: string; status: string } | null = row?.op_type && row.op_status ? { type: row.op_type, status: row.op_status } : null;
  // no space row (it is being created, or never was): the named operation is read on its own
  if (!row && operationId) op = ((await selectFirst(db, 'select `type`, `status` from `operations` where `id` = ? limit 1', [operationId])) as { type: string; status: string } | undefined) ?? null;
  const data = eventData(facts, space, op, now);
  const inserted = await run(db, 'insert into `events` (`at`, `data`, `operation_id`, `owner_id`, `space_id`, `type`) values (?, ?, ?, ?, ?, ?)', [
    now,
    JSON.stringify(data),
    operationId,
    space?.ownerId ?? null,
    facts.spaceId,
    facts.type,
  ]);
  return Number(inserted.lastInsertRowid);
}

function fromRow(r: Record<string, unknown>): StoredEvent {
  const id = Number(r.id);
  const data = JSON.parse(r.data as string) as Omit<KnotEvent, 'id'>;
  // events stored before `agent` existed read as null, like every other absent fact
  return { id, ownerId: (r.owner_id as string | null) ?? null, event: { id, ...data, agent: data.agent ?? null } };
}

/**
 * `db` is the pool (each append its own transaction) or the caller's transaction, whose
 * `afterCommit` runs the pruning once everything has committed.
 */
export function sqlEvents(db: Queryable, log: SqlEventLog, pool: Queryable, afterCommit: AfterCommit | null): EventRepository {
  // never past the webhook dispatcher's cursor: it has not taken those events yet
  const pruneThrough = async (newestId: number) => {
    const cursor = await sqlWebhookCursor(pool);
    const through = cursor === null ? newestId - log.retention : Math.min(newestId - log.retention, cursor);
    return pool('events').where('id', '<=', through).delete();
  };
  const prune = (newestId: number) => async () => {
    await pruneThrough(newestId);
  };
  return {
    async append(facts, now) {
      if (afterCommit) {
        const id = await insertEvent(db, facts, now);
        if (log.dueForPrune()) afterCommit(prune(id));
        return;
      }
      // the read and the insert together, as one transaction of prepared statements (fast-sql.ts)
      const id = await statementTransaction(db, (tx) => insertEvent(tx, facts, now));
      if (log.dueForPrune()) await prune(id)();
    },

    async after(afterId, q) {
      const query = db('events').where('id', '>', afterId);
      if (q.upTo !== undefined) query.where('id', '<=', q.upTo);
      if (q.ownerId !== undefined) query.where({ owner_id: q.ownerId });
      const rows = await query.orderBy('id').limit(q.limit).select('id', 'owner_id', 'data');
      return rows.map(fromRow);
    },

    async bounds() {
      const r = (await db('events').min({ lo: 'id' }).max({ hi: 'id' }).first()) as { lo: unknown; hi: unknown } | undefined;
      return { oldestId: r?.lo == null ? null : Number(r.lo), newestId: r?.hi == null ? null : Number(r.hi) };
    },

    setRetention(n) {
      log.setRetention(n);
    },

    async prune() {
      const newest = (await db('events').max({ hi: 'id' }).first()) as { hi: unknown } | undefined;
      if (newest?.hi == null) return 0;
      return pruneThrough(Number(newest.hi));
    },
  };
}
