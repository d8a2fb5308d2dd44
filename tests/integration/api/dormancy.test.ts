/**
 * Dormancy through the API: a space of a template with `deleteAfter` shows when it is deleted
 * (`status.deletesAt`, from when its last operation finished); `dormancyExempt` is an admin's
 * setting (200, no update started; 403 for anyone else) and clears `deletesAt`.
 */
import { startHarness as startBackend, waitForOperation, type Harness as Backend } from '../../support/harness';
import { closeTemporal, seedTemplate, startHarness as startApi, type Harness as Api } from './harness';

afterAll(closeTemporal);

describe('dormancy API', () => {
  let backend: Backend;
  let api: Api;

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', { backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle }, config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey } });
    expect((await api.call('POST', '/api/v1/templates', { body: seedTemplate('dormant', { deleteAfter: '720h' }) })).status).toBe(201);
    expect((await api.call('POST', '/api/v1/templates', { body: seedTemplate('kept', {}) })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
    await backend?.close();
  });

  it('shows deletesAt; only an admin may exempt a space, which answers 200 without an update', async () => {
    const { token } = await api.user('sleepy');
    const created = await api.call('POST', '/api/v1/spaces', { token, body: { name: 'nap', template: 'dormant' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const [createOp] = await backend.store.operations.listOfSpace(id);
    const create = await waitForOperation(backend.store, createOp!.id);

    const shown = await api.call('GET', `/api/v1/spaces/${id}`, { token });
    expect(shown.body.dormancyExempt).toBe(false);
    expect((shown.body.status as Record<string, unknown>).deletesAt).toBe(new Date(create.finishedAt! + 720 * 3600_000).toISOString());

    const refused = await api.call('PATCH', `/api/v1/spaces/${id}`, { token, body: { dormancyExempt: true } });
    expect(refused.status).toBe(403);
    expect(refused.body.errors).toEqual([{ path: 'dormancyExempt', message: 'admins only' }]);

    const exempted = await api.call('PATCH', `/api/v1/spaces/${id}`, { body: { dormancyExempt: true } });
    expect(exempted.status).toBe(200);
    expect(exempted.body.dormancyExempt).toBe(true);
    expect((exempted.body.status as Record<string, unknown>).deletesAt).toBeNull();
    expect((await backend.store.operations.listOfSpace(id)).map((o) => o.type)).toEqual(['create']);
    expect((await backend.store.audit.list({ resourceId: id, action: 'space.update', limit: 10 }))[0]).toMatchObject({ outcome: 'ok', detail: { changed: ['dormancyExempt'], dormancyExempt: true } });

    const other = await api.call('POST', '/api/v1/spaces', { token, body: { name: 'awake', template: 'kept' } });
    expect((other.body.status as Record<string, unknown>).deletesAt).toBeNull();
  });
});
