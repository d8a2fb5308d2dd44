/**
 * GET /api/v1/events — Server-Sent Events: space changes and every step of every operation the
 * caller may see (own spaces; admins all). `Last-Event-ID` replays what was missed from the
 * store's log; an id older than the retained log gets a `reset` event (refetch, then go on live).
 */
import type { Response } from 'express';
import { ErrorType, KnotError } from '../../core/errors';
import type { KnotEvent, ResetEvent } from '../../core/events';
import type { StoredEvent } from '../../store/model';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { eventSchema } from '../schemas/events';

const REPLAY_BATCH = 500;

/** One SSE response: frames out, and dropped when the client stops reading. */
class SseConnection {
  closed = false;
  constructor(
    private readonly res: Response,
    private readonly maxBufferedBytes: number,
    private readonly onDrop: (reason: string) => void,
  ) {}

  write(chunk: string): boolean {
    if (this.closed) return false;
    // the socket buffer stays full: the client is not reading; never buffer without bound
    if (this.res.writableLength > this.maxBufferedBytes) {
      this.close();
      this.onDrop(`more than ${this.maxBufferedBytes} bytes unsent`);
      return false;
    }
    this.res.write(chunk);
    return true;
  }

  event(id: number, data: KnotEvent | ResetEvent): boolean {
    return this.write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.destroy();
  }
}

function lastEventIdOf(header: string | string[] | undefined): number | null {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === '') return null;
  if (!/^\d{1,15}$/.test(v.trim())) {
    throw new KnotError(ErrorType.Validation, 'Last-Event-ID must be the id of an event from this stream', { errors: [{ path: 'header.Last-Event-ID', message: 'must be a non-negative integer' }] });
  }
  return Number(v.trim());
}

export const eventRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/events',
    tag: 'events',
    summary: 'Live events (Server-Sent Events): space changes and operation steps; Last-Event-ID replays',
    description:
      'Each event is `id: <n>` and `data: <Event JSON>`. Send `Last-Event-ID` to replay what was missed; an id older than the retained log answers a `{"type":"reset"}` event: refetch state, then keep reading. Comments (`: keep-alive`) are sent periodically. A client that stops reading is disconnected.',
    auth: 'user',
    responses: { 200: { description: 'an endless text/event-stream', schema: eventSchema, contentType: 'text/event-stream' }, ...problems(400, ...AUTH_PROBLEMS) },
    async handler({ req, res, svc, actor }) {
      const lastId = lastEventIdOf(req.headers['last-event-id']);
      const hub = svc.events;
      const ownerId = actor.isAdmin ? null : actor.user.id;
      // spaces shared with the caller (as they are now: a share added later shows after a reconnect)
      const shared = new Set(ownerId ? (await svc.store.shares.listForRecipient(actor.user.id, actor.groups)).map((s) => s.spaceId) : []);
      const visible = (e: StoredEvent) => !ownerId || e.ownerId === ownerId || shared.has(e.event.spaceId);
      const log = svc.logger.child({ stream: 'events', user: actor.user.username });
      const conn = new SseConnection(res, hub.options.maxBufferedBytes, (reason) => log.info({ reason }, 'dropped a slow event-stream client'));
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
        Connection: 'keep-alive',
      });
      res.socket?.setNoDelay(true);
      conn.write('retry: 2000\n: connected\n\n');

      // live events that arrive while the replay is read are held, then sent after it, in order
      let held: StoredEvent[] | null = [];
      const { since, unsubscribe } = await hub.subscribe({
        ownerId,
        sharedSpaceIds: shared,
        deliver(e) {
          if (held) {
            held.push(e);
            return !conn.closed;
          }
          return conn.event(e.id, e.event);
        },
      });
      const keepAlive = setInterval(() => conn.write(': keep-alive\n\n'), hub.options.keepAliveMs);
      keepAlive.unref();
      const done = () => {
        clearInterval(keepAlive);
        unsubscribe();
        conn.closed = true;
      };
      res.on('close', done);

      try {
        if (lastId !== null && lastId < since) {
          const { oldestId } = await svc.store.events.bounds();
          if (oldestId === null || lastId < oldestId - 1) {
            conn.event(since, { type: 'reset', reason: 'the events after Last-Event-ID are no longer retained; refetch', oldestId });
          } else {
            let after = lastId;
            for (;;) {
              // with shares the store's owner filter would miss them: read all, keep the visible
              const batch = await svc.store.events.after(after, { limit: REPLAY_BATCH, upTo: since, ...(ownerId && shared.size === 0 ? { ownerId } : {}) });
              for (const e of batch) if (visible(e) && !conn.event(e.id, e.event)) return { status: 200, streamed: true };
              if (batch.length < REPLAY_BATCH) break;
              after = batch[batch.length - 1]!.id;
            }
          }
        } else if (lastId !== null && lastId > since) {
          conn.event(since, { type: 'reset', reason: 'Last-Event-ID is not from this event log; refetch', oldestId: null });
        }
      } finally {
        const pending = held ?? [];
        held = null;
        for (const e of pending) if (!conn.event(e.id, e.event)) break;
      }
      return { status: 200, streamed: true };
    },
  }),
];
