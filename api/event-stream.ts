/**
 * Live events for SSE clients. ONE loop per API process tails the store's event log (which the
 * workers write, so every API instance behind a load balancer sees every event) and fans each new
 * event out to the connected clients that may see it. Nothing is kept in memory beyond the current
 * batch: a client that reconnects replays from the log by Last-Event-ID.
 *
 * Ids come from an auto-increment column. On MariaDB two writers can commit out of id order, so
 * the tail delivers in id order and waits a short grace for a missing id before skipping it.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { StoredEvent } from '../store/model';

export interface EventStreamOptions {
  /** how often the log is polled while clients are connected; default 150 ms */
  pollIntervalMs?: number;
  /** comment sent to every client this often so proxies keep the connection; default 15 s */
  keepAliveMs?: number;
  /** a client whose unsent output exceeds this is dropped; default 256 KiB */
  maxBufferedBytes?: number;
  /** how long a missing id may hold delivery back before it is skipped; default 1 s */
  gapGraceMs?: number;
  /** rows read per poll */
  batchSize?: number;
}

export interface EventSubscriber {
  /** admins see everything; others only their own spaces' events */
  ownerId: string | null;
  /** spaces of others shared with the subscriber (as when it connected): their events are visible too */
  sharedSpaceIds?: ReadonlySet<string>;
  /** called with each visible event; returns false when the client had to be dropped */
  deliver(e: StoredEvent): boolean;
}

export class EventHub {
  private readonly subscribers = new Set<EventSubscriber>();
  private cursor: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;
  private gapSince: { id: number; at: number } | null = null;
  readonly options: Required<EventStreamOptions>;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    options: EventStreamOptions = {},
  ) {
    this.options = {
      pollIntervalMs: options.pollIntervalMs ?? 150,
      keepAliveMs: options.keepAliveMs ?? 15_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 256 * 1024,
      gapGraceMs: options.gapGraceMs ?? 1_000,
      batchSize: options.batchSize ?? 500,
    };
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** The newest id delivered to live subscribers (starting the tail if it was idle). */
  async position(): Promise<number> {
    if (this.cursor === null) this.cursor = (await this.store.events.bounds()).newestId ?? 0;
    return this.cursor;
  }

  /** Adds a subscriber that receives every event after `position()` at the time of the call. */
  async subscribe(s: EventSubscriber): Promise<{ since: number; unsubscribe: () => void }> {
    const since = await this.position();
    this.subscribers.add(s);
    this.schedule();
    return {
      since,
      unsubscribe: () => {
        this.subscribers.delete(s);
      },
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.subscribers.clear();
  }

  private schedule(): void {
    if (this.timer || this.polling || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.subscribers.size === 0) {
      // idle: forget the position, the next subscriber starts from the newest event
      this.cursor = null;
      this.gapSince = null;
      return;
    }
    this.polling = true;
    try {
      let more = true;
      while (more && !this.closed) {
        const from = await this.position();
        const rows = await this.store.events.after(from, { limit: this.options.batchSize });
        const deliverable = this.inOrder(from, rows);
        for (const e of deliverable) this.fanOut(e);
        if (deliverable.length > 0) this.cursor = deliverable[deliverable.length - 1]!.id;
        more = deliverable.length === this.options.batchSize;
      }
    } catch (e) {
      this.logger.warn({ err: e }, 'event tail: could not read the event log; retrying');
    } finally {
      this.polling = false;
      this.schedule();
    }
  }

  /** The rows that may be delivered now: contiguous from the cursor, gaps skipped after the grace. */
  private inOrder(from: number, rows: StoredEvent[]): StoredEvent[] {
    const out: StoredEvent[] = [];
    let expected = from + 1;
    for (const r of rows) {
      if (r.id !== expected) {
        const now = Date.now();
        if (!this.gapSince || this.gapSince.id !== expected) this.gapSince = { id: expected, at: now };
        if (now - this.gapSince.at < this.options.gapGraceMs) break;
        // a rolled-back insert leaves a hole for ever: go on
      }
      out.push(r);
      expected = r.id + 1;
      this.gapSince = null;
    }
    return out;
  }

  private fanOut(e: StoredEvent): void {
    for (const s of [...this.subscribers]) {
      if (s.ownerId !== null && s.ownerId !== e.ownerId && !s.sharedSpaceIds?.has(e.event.spaceId)) continue;
      if (!s.deliver(e)) this.subscribers.delete(s);
    }
  }
}
