/**
 * Mixed lifecycle operations through the public API of several replicas, round-robin: `lanes`
 * spaces run side by side, each one operation at a time (create, then start / stop / restart /
 * update / delete chosen by phase with a seeded PRNG; a deleted space's lane creates a new one).
 * A request a replica cannot answer (killed, connection reset, 5xx) goes to the next replica; an
 * answer lost with the replica that had already accepted the operation shows up as a 409 on the
 * retry, and the operation running on the space is adopted (found in the store) rather than lost.
 */
import { KnotApiError, KnotConnectionError, type KnotClient } from '../../client';
import { seededRandom } from '../../nomad/sandbox/faults';
import type { Store } from '../../store/store';
import { until } from '../support/wait';

export type DriveOp = 'create' | 'start' | 'stop' | 'restart' | 'update' | 'delete';

export interface DriveResult {
  /** operation ids the API accepted (creates included), with the replica that answered */
  accepted: { id: string; spaceId: string; type: DriveOp; api: number }[];
  /** operations found running on the space after a lost answer (accepted by a replica that died) */
  adopted: string[];
  spaceIds: string[];
  /** requests a replica did not answer (moved to the next), per replica index */
  unanswered: number[];
  /** 4xx refusals by error type (e.g. a delete of a space that is not stopped) */
  refused: Record<string, number>;
  /** 5xx answers (retried on the next replica, counted in `unanswered` too) by `api:type` */
  serverErrors: Record<string, number>;
  /** 409s after which no operation was active on the space any more (nothing to adopt) */
  conflictsWithNothingActive: number;
  byType: Record<string, number>;
  ms: number;
}

export interface DriveOptions {
  /** one client per replica (direct URLs), the same user */
  clients: KnotClient[];
  store: Store;
  template: string;
  namePrefix: string;
  ops: number;
  lanes: number;
  seed: number;
  /** called after every accepted operation with the count so far (kills, the template change) */
  onAccepted?: (count: number) => Promise<void> | void;
  /** how long one operation may take to finish (a killed worker's activity waits for its timeout) */
  opTimeoutMs?: number;
  /** what is known about an operation that did not finish in time (./diagnose.ts), added to the failure */
  diagnose?: (operationId: string) => Promise<string>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

function unanswered(e: unknown): boolean {
  return e instanceof KnotConnectionError || (e instanceof KnotApiError && e.status >= 500);
}

export async function drive(o: DriveOptions): Promise<DriveResult> {
  const t0 = Date.now();
  const random = seededRandom(o.seed);
  const res: DriveResult = { accepted: [], adopted: [], spaceIds: [], unanswered: o.clients.map(() => 0), refused: {}, serverErrors: {}, conflictsWithNothingActive: 0, byType: {}, ms: 0 };
  /** requests sent or accepted: a lane takes a slot before it sends, gives it back when refused */
  let slots = 0;
  let next = 0;
  let names = 0;
  const owner = (await o.clients[0]!.whoami()).user.id;

  /** Sends a request to the replicas in turn until one answers; returns it and who answered. */
  const send = async <T>(call: (c: KnotClient) => Promise<T>): Promise<{ value: T; api: number }> => {
    for (let attempt = 0; ; attempt++) {
      const api = next++ % o.clients.length;
      try {
        return { value: await call(o.clients[api]!), api };
      } catch (e) {
        if (!unanswered(e) || attempt >= 20) throw e;
        res.unanswered[api]!++;
        if (e instanceof KnotApiError) res.serverErrors[`${api}:${e.type}`] = (res.serverErrors[`${api}:${e.type}`] ?? 0) + 1;
      }
    }
  };

  const accept = async (id: string, spaceId: string, type: DriveOp, api: number) => {
    res.accepted.push({ id, spaceId, type, api });
    res.byType[type] = (res.byType[type] ?? 0) + 1;
    await o.onAccepted?.(res.accepted.length);
  };

  const finished = (id: string) =>
    until(`operation ${id} to finish`, async () => {
      const op = await o.store.operations.get(id);
      return op && TERMINAL.has(op.status) ? op : null;
    }, o.opTimeoutMs ?? 180_000, 100).catch(async (e: Error) => {
      if (!o.diagnose) throw e;
      const accepted = res.accepted.find((a) => a.id === id);
      const how = accepted ? `accepted by api ${accepted.api}` : 'adopted: found active on its space after a retried request met a 409';
      const report = `${how}\n${await o.diagnose(id)}`;
      console.log(report);
      throw new Error(`${e.message}\n${report}`);
    });

  /** Creates a space (one operation); null when the slot was given back. */
  const create = async (): Promise<string | null> => {
    const name = `${o.namePrefix}${++names}`;
    try {
      const { value, api } = await send((c) => c.createSpace({ name, template: o.template } as never));
      res.spaceIds.push(value.id);
      const op = (await o.store.operations.listOfSpace(value.id, 10)).find((x) => x.type === 'create');
      if (!op) throw new Error(`space ${value.id} was created without a create operation`);
      await accept(op.id, value.id, 'create', api);
      return value.id;
    } catch (e) {
      // the answer was lost with a replica that had created it: the retry finds the name taken
      const s = e instanceof KnotApiError && e.status === 409 ? await o.store.spaces.getByName(owner, name) : null;
      if (!s) throw e;
      res.spaceIds.push(s.id);
      const op = (await o.store.operations.listOfSpace(s.id, 10)).find((x) => x.type === 'create');
      if (op) res.adopted.push(op.id);
      slots--;
      return s.id;
    }
  };

  const lane = async () => {
    let spaceId: string | null = null;
    while (slots < o.ops) {
      slots++;
      if (!spaceId) {
        spaceId = await create();
        continue;
      }
      const space = await o.store.spaces.get(spaceId);
      if (!space || space.deletedAt || space.phase === 'deleted') {
        slots--;
        spaceId = null;
        continue;
      }
      const r = random();
      let type: Exclude<DriveOp, 'create'>;
      if (space.phase === 'running') type = r < 0.5 ? 'stop' : r < 0.75 ? 'restart' : 'update';
      else if (space.phase === 'stopped') type = r < 0.65 ? 'start' : r < 0.8 ? 'update' : 'delete';
      else type = 'stop';
      const id = spaceId;
      try {
        const { value, api } = await send((c) => (type === 'delete' ? c.deleteSpace(id) : c.spaceAction(id, type)));
        await accept(value.operation.id, id, type, api);
        await finished(value.operation.id);
      } catch (e) {
        if (!(e instanceof KnotApiError) || e.status >= 500) throw e;
        slots--;
        const active = e.status === 409 ? await o.store.operations.active(id) : null;
        if (active) {
          // accepted by a replica whose answer was lost (or a sweep's stop): follow it to its end
          res.adopted.push(active.id);
          await finished(active.id);
        } else {
          if (e.status === 409) res.conflictsWithNothingActive++;
          res.refused[e.type] = (res.refused[e.type] ?? 0) + 1;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: o.lanes }, () => lane()));
  res.ms = Date.now() - t0;
  return res;
}
