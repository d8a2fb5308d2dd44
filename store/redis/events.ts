/**
 * The event log every API instance tails: a counter (`events:seq`) and one sorted set (`events`)
 * scored by id, each member `<id>:<JSON {ownerId, event without id}>`. The append runs as a Lua
 * script inside the transaction's MULTI, so the id is taken at EXEC: ids are contiguous and follow
 * commit order, which the API's tail relies on (it never sees id n+1 before id n).
 */
import { eventData, eventOperationId, type KnotEvent } from '../../core/events';
import { DEFAULT_EVENT_RETENTION, type EventFacts, type Operation, type Space, type StoredEvent } from '../model';
import type { EventRepository } from '../store';
import type { Keys } from './keys';
import { parseJson, readDoc, type Kv } from './kv';
import { redisWebhookCursor } from './webhooks';

/** Pruning runs after one append in this many (per store), dropping everything past the retention. */
const PRUNE_EVERY = 100;
/** Entries read per round trip when an owner filter may drop some. */
const SCAN_PAGE = 200;

interface StoredPayload {
  ownerId: string | null;
  event: Omit<KnotEvent, 'id'>;
}

/** How many events are kept; shared by the store's repositories inside and outside transactions. */
export class EventRetention {
  private appendsSincePrune = 0;

  constructor(private kept = DEFAULT_EVENT_RETENTION) {}

  get size(): number {
    return this.kept;
  }

  set(n: number): void {
    this.kept = Math.max(1, Math.floor(n));
    // the next committed append prunes to the new size
    this.appendsSincePrune = PRUNE_EVERY;
  }

  /** whether this committed append is the one that prunes */
  pruneDue(): boolean {
    if (++this.appendsSincePrune < PRUNE_EVERY) return false;
    this.appendsSincePrune = 0;
    return true;
  }
}

export function redisEvents(kv: Kv, keys: Keys, retention: EventRetention): EventRepository {
  /** as SQL: every id ≤ newest − retention, never past the webhook dispatcher's cursor */
  async function prune(): Promise<number> {
    const { newestId } = await kv.logs.bounds(keys.events);
    if (newestId === null) return 0;
    const cursor = await redisWebhookCursor(kv.read, keys);
    return kv.logs.dropThrough(keys.events, cursor === null ? newestId - retention.size : Math.min(newestId - retention.size, cursor));
  }

  return {
    append: (facts: EventFacts, now: number) =>
      kv.write(async (tx) => {
        // the facts as this transaction sees them (its own earlier writes included)
        const space = await readDoc<Space>(tx, keys.space(facts.spaceId));
        const operationId = eventOperationId(facts, space);
        const op = operationId ? await readDoc<Operation>(tx, keys.operation(operationId)) : null;
        const event = eventData(facts, space, op, now);
        const payload: StoredPayload = { ownerId: space?.ownerId ?? null, event };
        tx.appendLog({ counterKey: keys.eventCounter, logKey: keys.events, payload: JSON.stringify(payload) });
        tx.afterCommit(async () => {
          if (retention.pruneDue()) await prune();
        });
      }),

    after: async (afterId, q) => {
      const out: StoredEvent[] = [];
      let min = `(${afterId}`;
      const max = q.upTo !== undefined ? String(q.upTo) : '+inf';
      const pageSize = q.ownerId !== undefined ? Math.max(q.limit, SCAN_PAGE) : q.limit;
      while (out.length < q.limit) {
        const entries = await kv.logs.range(keys.events, { min, max, count: pageSize });
        for (const { id, payload } of entries) {
          const stored = parseJson<StoredPayload>(payload, keys.events) as StoredPayload;
          if (q.ownerId !== undefined && stored.ownerId !== q.ownerId) continue;
          // events stored before `agent` existed read as null, like every other absent fact
          out.push({ id, ownerId: stored.ownerId, event: { id, ...stored.event, agent: stored.event.agent ?? null } });
          if (out.length >= q.limit) break;
        }
        if (entries.length < pageSize) break;
        min = `(${(entries[entries.length - 1] as { id: number }).id}`;
      }
      return out;
    },

    bounds: () => kv.logs.bounds(keys.events),

    setRetention: (n) => retention.set(n),

    prune,
  };
}
