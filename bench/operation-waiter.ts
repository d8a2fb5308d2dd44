/**
 * Waiting for an operation the way knot's own clients do: the API's one event-log tail
 * (api/event-stream.ts EventHub, what every SSE client and `knot … --wait` rides on) delivers the
 * operation's `operation.finished` event. The other way, `handle.result()` on the workflow, is a
 * Temporal long poll per operation that nothing in knot makes for a start, stop or delete: it put
 * one history read and a held request per operation on the Temporal figures of the throughput run.
 */
import pino from 'pino';
import { EventHub } from '../api/event-stream';
import { ACTIVE_OPERATION_STATUSES } from '../core/lifecycle';
import type { Store } from '../store/store';

export class OperationWaiter {
  private readonly hub: EventHub;
  private readonly waiters = new Map<string, () => void>();
  /** finished before anyone waited (the event can beat the caller's registration) */
  private readonly finished = new Set<string>();
  private unsubscribe: (() => void) | null = null;

  private constructor(private readonly store: Store) {
    this.hub = new EventHub(store, pino({ level: 'silent' }));
  }

  static async start(store: Store): Promise<OperationWaiter> {
    const w = new OperationWaiter(store);
    const sub = await w.hub.subscribe({
      ownerId: null,
      deliver: (e) => {
        const ev = e.event;
        if (ev.type === 'operation.finished' && ev.operationId) {
          const resolve = w.waiters.get(ev.operationId);
          if (resolve) {
            w.waiters.delete(ev.operationId);
            resolve();
          } else {
            w.finished.add(ev.operationId);
          }
        }
        return true;
      },
    });
    w.unsubscribe = sub.unsubscribe;
    return w;
  }

  /**
   * Resolves once the operation's `operation.finished` event has been delivered, or (a safety net
   * that a correct run never needs) its row is seen terminal on a check every 10 s.
   */
  async finishedEvent(operationId: string): Promise<void> {
    if (this.finished.delete(operationId)) return;
    const delivered = new Promise<void>((resolve) => this.waiters.set(operationId, resolve));
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const checkDue = new Promise<'check'>((r) => (timer = setTimeout(() => r('check'), 10_000)));
      const first = await Promise.race([delivered, checkDue]);
      clearTimeout(timer);
      if (first !== 'check') return;
      const row = await this.store.operations.get(operationId);
      if (row && !ACTIVE_OPERATION_STATUSES.includes(row.status)) {
        this.waiters.delete(operationId);
        this.missed++;
        return;
      }
    }
  }

  /** operations whose end was seen on the row, not through the event (should stay 0) */
  missed = 0;

  close(): void {
    this.unsubscribe?.();
    this.hub.close();
  }
}
