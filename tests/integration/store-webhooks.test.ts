/**
 * The webhook repository's rules on every driver (the part of the store conformance suite that is
 * about webhooks): endpoints, idempotent delivery inserts, the hand-over order, attempts and
 * failures, redelivery, paging, deletion with deliveries, and the event log's pruning held back by
 * the dispatcher's cursor.
 */
import { newId } from '../../core/names';
import type { NewWebhookDelivery } from '../../store/webhook-model';
import type { Store } from '../../store/store';
import { createTestStore, storeKinds, type TestStore } from '../support/db';

const T = Date.parse('2025-03-01T00:00:00Z');

describe.each(storeKinds())('webhook store on %s', (kind) => {
  let t: TestStore;
  let store: Store;
  beforeEach(async () => {
    t = await createTestStore(kind);
    store = t.store;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const endpoint = (id: string) => ({ id, url: 'https://example.com/hook', description: 'd', events: ['space.started' as const], enabled: true, secretEncrypted: 'v1:xx', createdBy: null, afterEventId: 0 });
  const delivery = (id: string, endpointId: string, eventId: number | null, queueKey = 'sp1'): NewWebhookDelivery => ({ id, endpointId, eventId, eventType: 'space.started', queueKey, payload: `{"n":${eventId}}` });

  it('stores, lists, updates and deletes endpoints with their deliveries', async () => {
    const a = await store.webhooks.insertEndpoint(endpoint('ep-a'), T);
    await store.webhooks.insertEndpoint(endpoint('ep-b'), T + 1);
    expect(a).toMatchObject({ id: 'ep-a', enabled: true, failingSince: null, disabledReason: null, createdAt: T });
    await expect(store.webhooks.insertEndpoint(endpoint('ep-a'), T)).rejects.toMatchObject({ type: 'conflict' });
    expect((await store.webhooks.listEndpoints()).map((e) => e.id)).toEqual(['ep-a', 'ep-b']);

    await store.webhooks.updateEndpoint('ep-a', { enabled: false, disabledReason: 'why', events: ['space.stopped', 'space.deleted'], url: 'https://example.org/' }, T + 5);
    expect(await store.webhooks.getEndpoint('ep-a')).toMatchObject({ enabled: false, disabledReason: 'why', events: ['space.stopped', 'space.deleted'], url: 'https://example.org/', updatedAt: T + 5 });
    expect(await store.webhooks.recordEndpointOutcome('ep-a', false, T + 10)).toMatchObject({ failingSince: T + 10 });
    expect(await store.webhooks.recordEndpointOutcome('ep-a', false, T + 20)).toMatchObject({ failingSince: T + 10 });
    await store.webhooks.updateEndpoint('ep-a', { enabled: true }, T + 30);
    expect(await store.webhooks.getEndpoint('ep-a')).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    expect(await store.webhooks.recordEndpointOutcome('ep-a', false, T + 40)).toMatchObject({ failingSince: T + 40 });
    expect(await store.webhooks.recordEndpointOutcome('ep-a', true, T + 50)).toMatchObject({ failingSince: null });

    await store.webhooks.insertDeliveries([delivery('d1', 'ep-a', 1), delivery('d2', 'ep-b', 1)], T);
    expect(await store.webhooks.deleteEndpoint('ep-a')).toBe(true);
    expect(await store.webhooks.deleteEndpoint('ep-a')).toBe(false);
    expect(await store.webhooks.getDelivery('d1')).toBeNull();
    expect((await store.webhooks.listUnqueued(10)).map((d) => d.id)).toEqual(['d2']);
    expect((await store.webhooks.listEndpoints()).map((e) => e.id)).toEqual(['ep-b']);
  });

  it('inserts deliveries idempotently, hands them over in order, records attempts, fails and requeues', async () => {
    await store.webhooks.insertEndpoint(endpoint('ep'), T);
    await store.webhooks.insertDeliveries([delivery('m3', 'ep', 3), delivery('m1', 'ep', 1), delivery('m2', 'ep', 2)], T);
    // a retried dispatch: the existing record stays as it is
    await store.webhooks.recordAttempt('m1', { ok: false, statusCode: 503, response: 'busy', error: 'HTTP 503' }, T + 1);
    await store.webhooks.insertDeliveries([delivery('m1', 'ep', 1)], T + 2);
    expect(await store.webhooks.getDelivery('m1')).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 503, lastResponse: 'busy', lastError: 'HTTP 503', lastAttemptAt: T + 1, queued: false });
    await store.webhooks.insertDeliveries([delivery('m0', 'ep', 5)], T - 1);

    expect((await store.webhooks.listUnqueued(10)).map((d) => d.id)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect((await store.webhooks.listUnqueued(2)).map((d) => d.id)).toEqual(['m0', 'm1']);
    await store.webhooks.markQueued(['m0', 'm1']);
    expect((await store.webhooks.listUnqueued(10)).map((d) => d.id)).toEqual(['m2', 'm3']);

    await store.webhooks.recordAttempt('m1', { ok: true, statusCode: 204, response: '', error: null }, T + 3);
    expect(await store.webhooks.getDelivery('m1')).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: T + 3, lastStatusCode: 204 });
    await store.webhooks.markFailed('m1', 'late', T + 4);
    expect((await store.webhooks.getDelivery('m1'))?.status).toBe('delivered');
    await store.webhooks.markFailed('m0', 'out of attempts', T + 4);
    expect(await store.webhooks.getDelivery('m0')).toMatchObject({ status: 'failed', lastError: 'out of attempts', lastAttemptAt: T + 4 });

    expect(await store.webhooks.requeue('m0', T + 10)).toBe(true);
    expect(await store.webhooks.requeue('nope', T + 10)).toBe(false);
    expect(await store.webhooks.getDelivery('m0')).toMatchObject({ status: 'pending', queued: false, queuedAt: T + 10, attempts: 0 });
    expect((await store.webhooks.listUnqueued(10)).map((d) => d.id)).toEqual(['m2', 'm3', 'm0']);
  });

  it('knows whether a lane has deliveries at its queue workflow (pending and queued)', async () => {
    await store.webhooks.insertEndpoint(endpoint('ep'), T);
    await store.webhooks.insertDeliveries([delivery('a1', 'ep', 1, 'sp1'), delivery('a2', 'ep', 2, 'sp1'), delivery('b1', 'ep', 3, 'sp2')], T);
    // unqueued deliveries are the dispatcher's, not the workflow's
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(false);
    await store.webhooks.markQueued(['a1', 'a2']);
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(true);
    expect(await store.webhooks.laneHasQueued('ep', 'sp2')).toBe(false);
    expect(await store.webhooks.laneHasQueued('other', 'sp1')).toBe(false);
    await store.webhooks.recordAttempt('a1', { ok: true, statusCode: 200, response: '', error: null }, T + 1);
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(true);
    await store.webhooks.markFailed('a2', 'out of attempts', T + 2);
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(false);
    // a redelivery is the dispatcher's again until it is handed over
    await store.webhooks.requeue('a2', T + 3);
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(false);
    await store.webhooks.markQueued(['a2']);
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(true);
    expect(await store.webhooks.deleteEndpoint('ep')).toBe(true);
    expect(await store.webhooks.laneHasQueued('ep', 'sp1')).toBe(false);
  });

  it('pages deliveries newest first', async () => {
    await store.webhooks.insertEndpoint(endpoint('ep'), T);
    for (let i = 0; i < 5; i++) await store.webhooks.insertDeliveries([delivery(`d${i}`, 'ep', i)], T + i);
    await store.webhooks.insertDeliveries([delivery('zz', 'other', 9)], T + 100);
    const first = await store.webhooks.listDeliveries('ep', { limit: 2 });
    expect(first.map((d) => d.id)).toEqual(['d4', 'd3']);
    const last = first[1]!;
    const next = await store.webhooks.listDeliveries('ep', { limit: 10, before: { createdAt: last.createdAt, id: last.id } });
    expect(next.map((d) => d.id)).toEqual(['d2', 'd1', 'd0']);
  });

  it('keeps a cursor, and the event log is not pruned past it', async () => {
    expect(await store.webhooks.getCursor()).toBeNull();
    const spaceId = newId(T);
    for (let i = 0; i < 10; i++) await store.events.append({ type: 'space.deleted', spaceId }, T + i);
    const { oldestId, newestId } = await store.events.bounds();
    await store.transaction(async (tx) => tx.webhooks.setCursor((oldestId as number) + 2));
    expect(await store.webhooks.getCursor()).toBe((oldestId as number) + 2);
    store.events.setRetention(1);
    await store.events.prune();
    // ids up to the cursor went; the dispatcher has not taken the rest
    expect(await store.events.bounds()).toEqual({ oldestId: (oldestId as number) + 3, newestId });
    await store.webhooks.setCursor(newestId as number);
    await store.events.prune();
    expect(await store.events.bounds()).toEqual({ oldestId: newestId, newestId });
  });
});
