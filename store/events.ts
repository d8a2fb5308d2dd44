/**
 * The event log: every space change and operation step, written by activities (and the API for
 * template-driven changes), tailed by every API instance. Bounded: each insert prunes the oldest
 * rows beyond the retention, so the table never grows without bound.
 */
import type { KnotEvent, KnotEventType, StepOutcome } from '../core/events';
import type { Db } from './db';

/** Events kept for Last-Event-ID replay; older ones answer a `reset`. */
export const DEFAULT_EVENT_RETENTION = 20_000;
/** Pruning runs on one insert in this many (per process), deleting everything past the retention. */
const PRUNE_EVERY = 100;

let retention = DEFAULT_EVENT_RETENTION;
let insertsSincePrune = 0;

/** Tests and operators may shrink the retained window (process-wide). */
export function setEventRetention(n: number): void {
  retention = Math.max(1, Math.floor(n));
  insertsSincePrune = PRUNE_EVERY;
}

export interface EventFacts {
  type: KnotEventType;
  spaceId: string;
  operationId?: string | null;
  step?: string | null;
  stepStatus?: StepOutcome | null;
  durationMs?: number | null;
  updateAvailable?: boolean | null;
  error?: { type: string; message: string } | null;
}

export interface StoredEvent {
  id: number;
  ownerId: string | null;
  event: KnotEvent;
}

/**
 * Records an event with the space's and the operation's current facts (phase, status) read in the
 * same transaction, so the event says what the store said at that moment.
 */
export async function recordEvent(db: Db, facts: EventFacts, now: number): Promise<number> {
  const id = await db.transaction(async (trx) => {
    const space = (await trx('spaces').where({ id: facts.spaceId }).first('name', 'owner_id', 'phase', 'last_operation_id')) as
      | { name: string; owner_id: string; phase: string; last_operation_id: string | null }
      | undefined;
    const operationId = facts.operationId === undefined ? (space?.last_operation_id ?? null) : facts.operationId;
    const op = operationId ? ((await trx('operations').where({ id: operationId }).first('type', 'status')) as { type: string; status: string } | undefined) : undefined;
    const data: Omit<KnotEvent, 'id'> = {
      at: new Date(now).toISOString(),
      type: facts.type,
      spaceId: facts.spaceId,
      spaceName: space?.name ?? null,
      operationId,
      operationType: op?.type ?? null,
      phase: space?.phase ?? null,
      status: op?.status ?? null,
      step: facts.step ?? null,
      stepStatus: facts.stepStatus ?? null,
      durationMs: facts.durationMs ?? null,
      updateAvailable: facts.updateAvailable ?? null,
      error: facts.error ?? null,
    };
    const [inserted] = await trx('events').insert({ at: now, type: facts.type, space_id: facts.spaceId, owner_id: space?.owner_id ?? null, operation_id: operationId, data: JSON.stringify(data) });
    return Number(inserted);
  });
  if (++insertsSincePrune >= PRUNE_EVERY) {
    insertsSincePrune = 0;
    await pruneEvents(db, id);
  }
  return id;
}

export async function pruneEvents(db: Db, newestId: number): Promise<number> {
  return db('events').where('id', '<=', newestId - retention).delete();
}

function fromRow(r: Record<string, unknown>): StoredEvent {
  const id = Number(r.id);
  return { id, ownerId: (r.owner_id as string | null) ?? null, event: { id, ...(JSON.parse(r.data as string) as Omit<KnotEvent, 'id'>) } };
}

/** Events with id > afterId (and ≤ upTo when given), oldest first; optionally only one owner's. */
export async function eventsAfter(db: Db, afterId: number, opts: { limit: number; upTo?: number; ownerId?: string }): Promise<StoredEvent[]> {
  const q = db('events').where('id', '>', afterId);
  if (opts.upTo !== undefined) q.where('id', '<=', opts.upTo);
  if (opts.ownerId !== undefined) q.where({ owner_id: opts.ownerId });
  const rows = await q.orderBy('id').limit(opts.limit).select('id', 'owner_id', 'data');
  return rows.map(fromRow);
}

export async function eventBounds(db: Db): Promise<{ oldestId: number | null; newestId: number | null }> {
  const r = (await db('events').min({ lo: 'id' }).max({ hi: 'id' }).first()) as { lo: unknown; hi: unknown } | undefined;
  return { oldestId: r?.lo == null ? null : Number(r.lo), newestId: r?.hi == null ? null : Number(r.hi) };
}
