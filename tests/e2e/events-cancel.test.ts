/**
 * Live events and cancel, end to end on the real stack (API + worker on the Temporal dev server +
 * Nomad sandbox over HTTP, SQLite and MariaDB), through the typed client only: an SSE client sees
 * every step of a start with a persisted timeline; Last-Event-ID replays and a too-old id resets;
 * a hanging start is cancelled and leaves no job or volume; cancel of a finished operation is 409;
 * another user's operation is 404; a client that stops reading is dropped.
 */
import net from 'node:net';
import { KnotApiError, type KnotClient, type KnotEvent, type ResetEvent } from '../../client';
import { DEFAULT_EVENT_RETENTION } from '../../store/model';
import { storeKinds } from '../support/db';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';

type Streamed = KnotEvent | ResetEvent;

/** Reads the stream in the background; `until` waits (bounded) for a condition on what arrived. */
function follow(client: KnotClient, lastEventId?: number) {
  const seen: Streamed[] = [];
  const abort = new AbortController();
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const done = (async () => {
    try {
      for await (const e of client.events({ signal: abort.signal, onOpen: () => opened(), ...(lastEventId !== undefined ? { lastEventId } : {}) })) seen.push(e);
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    }
  })();
  return {
    seen,
    open,
    async until(pred: (seen: Streamed[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pred(seen)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen.map((e) => [e.type, 'step' in e ? e.step : null, 'stepStatus' in e ? e.stepStatus : null]))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      abort.abort();
      await done;
    },
  };
}

const finishedOp = (id: string) => (seen: Streamed[]) => seen.some((e) => e.type === 'operation.finished' && (e as KnotEvent).operationId === id);

describe.each(storeKinds())('events and cancel on %s', (kind) => {
  let backend: Backend;
  let api: Api;
  let alice: KnotClient;
  let bob: KnotClient;
  beforeAll(async () => {
    backend = await startBackend(kind);
    api = await startApi(kind, {
      backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
      config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey },
      events: { pollIntervalMs: 50, keepAliveMs: 200, maxBufferedBytes: 64 * 1024 },
    });
    await api.client.createTemplate({ name: 'example', description: 'seed 000', job: seedJob(), volumes: seedVolumes() });
    alice = api.client.as((await api.user('alice')).token);
    bob = api.client.as((await api.user('bob')).token);
  });
  afterAll(async () => {
    api.store.events.setRetention(DEFAULT_EVENT_RETENTION);
    await api?.close();
    await backend?.close();
  });

  it('an SSE client sees every step of a start, the timeline is kept, and Last-Event-ID replays', async () => {
    const space = await alice.createSpace({ name: 'live', template: 'example' });
    const stream = follow(alice);
    const others = follow(bob);
    await Promise.all([stream.open, others.open]);
    const { operation } = await alice.startSpace(space.id);
    await stream.until(finishedOp(operation.id), 'the start to finish');
    const mine = stream.seen.filter((e): e is KnotEvent => e.type !== 'reset' && e.operationId === operation.id);
    const steps = mine.filter((e) => e.type === 'operation.step');
    const expected = ['planning', `creating volume debian_${space.id}_home`, 'registering job', 'waiting for the allocation to be healthy', 'recording'];
    // every step opens and then succeeds with a duration, in the workflow's order
    expect(steps.filter((e) => e.stepStatus === 'running').map((e) => e.step)).toEqual(expected);
    expect(steps.filter((e) => e.stepStatus === 'succeeded').map((e) => e.step)).toEqual(expected);
    for (const e of steps.filter((x) => x.stepStatus === 'succeeded')) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(mine.some((e) => e.type === 'space.phase' && e.phase === 'starting')).toBe(true);
    const last = mine[mine.length - 1]!;
    expect(last).toMatchObject({ type: 'operation.finished', status: 'succeeded', phase: 'running', spaceId: space.id, spaceName: 'live', error: null });
    // ids increase; bob saw none of alice's events
    const ids = stream.seen.map((e) => (e as KnotEvent).id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    await others.until(() => true, 'nothing');
    expect(others.seen.filter((e) => e.type !== 'reset' && e.spaceId === space.id)).toEqual([]);
    await Promise.all([stream.close(), others.close()]);

    // the timeline outlives the workflow: read back from the store
    const detail = await alice.getOperation(operation.id);
    expect(detail.steps.map((s) => [s.name, s.outcome])).toEqual(expected.map((n) => [n, 'succeeded']));
    for (const s of detail.steps) expect(Date.parse(s.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));

    // reconnecting after the third event replays exactly what followed
    const third = mine[2]!;
    const replay = follow(alice, third.id);
    await replay.until(finishedOp(operation.id), 'the replay');
    expect(replay.seen.filter((e) => (e as KnotEvent).operationId === operation.id).map((e) => (e as KnotEvent).id)).toEqual(mine.slice(3).map((e) => e.id));
    await replay.close();

    // an id older than the retained log answers a reset
    api.store.events.setRetention(3);
    const newest = mine[mine.length - 1]!.id;
    await api.store.events.prune();
    const stale = follow(alice, 1);
    await stale.until((s) => s.some((e) => e.type === 'reset'), 'a reset');
    expect(stale.seen[0]).toMatchObject({ type: 'reset' });
    await stale.close();
    api.store.events.setRetention(DEFAULT_EVENT_RETENTION);

    // stop it again for the next test
    const stop = await alice.stopSpace(space.id);
    const s2 = follow(alice, newest);
    await s2.until(finishedOp(stop.operation.id), 'the stop');
    // a new template version announces the update to the space that follows the template
    const { versionCreated } = await api.client.replaceTemplate('example', { name: 'example', description: 'seed 000, revised', job: seedJob(), volumes: seedVolumes() });
    expect(versionCreated).not.toBeNull();
    await s2.until((s) => s.some((e) => e.type === 'space.update_available' && e.spaceId === space.id && e.updateAvailable === true), 'the update notice');
    await s2.close();
  });

  it('a start that hangs is cancelled: no job, no volume it created; cancel again → 409; others → 404', async () => {
    const space = await alice.createSpace({ name: 'stuck', template: 'example' });
    backend.sandbox.setFaults({ pendingAllocations: '^stuck-alice$' });
    try {
      const stream = follow(alice);
      await stream.open;
      const { operation } = await alice.startSpace(space.id);
      await stream.until((s) => s.some((e) => (e as KnotEvent).operationId === operation.id && (e as KnotEvent).step === 'waiting for the allocation to be healthy'), 'the wait to start');
      expect(backend.sandbox.state().jobs.map((j) => j.ID)).toContain('stuck-alice');

      // bob may not cancel it, and cannot even tell it exists
      const refused = await bob.cancelOperation(operation.id).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KnotApiError);
      expect(refused).toMatchObject({ status: 404, type: 'not_found' });

      const accepted = await alice.cancelOperation(operation.id);
      expect(accepted.operation.id).toBe(operation.id);
      await stream.until(finishedOp(operation.id), 'the cancelled start to finish');
      const end = stream.seen.filter((e) => (e as KnotEvent).operationId === operation.id).pop() as KnotEvent;
      expect(end).toMatchObject({ type: 'operation.finished', status: 'cancelled', phase: 'stopped' });
      expect(stream.seen.some((e) => (e as KnotEvent).step?.startsWith('compensating'))).toBe(true);
      await stream.close();

      const state = backend.sandbox.state();
      expect(state.jobs.filter((j) => j.ID === 'stuck-alice' && !j.Stop)).toEqual([]);
      expect(state.csiVolumes.filter((v) => v.ID.includes(space.id))).toEqual([]);
      const detail = await alice.getOperation(operation.id);
      expect(detail.status).toBe('cancelled');
      expect(detail.steps.find((s) => s.name === 'waiting for the allocation to be healthy')?.outcome).toBe('cancelled');
      expect((await alice.getSpace(space.id)).status.phase).toBe('stopped');

      // operators see who and what in the Temporal UI's list
      const run = await backend.client.workflow.getHandle(detail.workflowId, detail.runId ?? undefined).describe();
      expect(await run.staticSummary()).toBe('start space stuck of alice');
      expect(run.status.name).toBe('CANCELLED');

      const again = await alice.cancelOperation(operation.id).catch((e: unknown) => e);
      expect(again).toMatchObject({ status: 409, type: 'operation_finished' });
      const audit = await api.client.listAudit({ action: 'operation.cancel' });
      expect(audit.items.map((a) => a.outcome).sort()).toEqual(['ok', 'refused', 'refused']);
    } finally {
      backend.sandbox.setFaults({});
    }
  });

  it('a client that stops reading is dropped; the others keep receiving', async () => {
    const { token } = await api.user('carol');
    const url = new URL(api.url);
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.adminToken}\r\n\r\n`);
    // read the headers, then stop reading for good
    await new Promise<void>((r) => socket.once('data', () => r()));
    socket.pause();
    const healthy = follow(api.client.as(token));
    await healthy.open;
    const space = await alice.createSpace({ name: 'flood', template: 'example' });
    // 32 MiB of events: far more than the 64 KiB limit plus the kernel's socket buffers on loopback
    const big = 'x'.repeat(16 * 1024);
    const count = 2048;
    for (let i = 0; i < count; i++) await api.store.events.append({ type: 'operation.step', spaceId: space.id, step: big, stepStatus: 'running' }, Date.now());
    // the server hangs up on the client that stopped reading: reading again finds the stream ended early
    let received = 0;
    socket.on('data', (b: Buffer) => (received += b.length));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.resume();
    await Promise.race([closed, new Promise((_r, reject) => setTimeout(() => reject(new Error('the slow client was not dropped')), 30_000))]);
    expect(received).toBeLessThan(count * big.length / 2);
    socket.destroy();
    // carol's stream, which saw none of the flood (not her space), still gets her own events
    const carols = await api.client.as(token).createSpace({ name: 'calm', template: 'example' });
    await healthy.until((s) => s.some((e) => e.type === 'space.phase' && e.spaceId === carols.id), "carol's event after the drop");
    expect(healthy.seen.filter((e) => e.type !== 'reset' && e.spaceId === space.id)).toEqual([]);
    await healthy.close();
  });
});
