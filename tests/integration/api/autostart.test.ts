/**
 * Autostart through the API with an injected clock (Monday 2025-03-31 10:00 UTC; the test users
 * live in UTC): set at create and with PATCH (a setting: 200, no update started), refused at save
 * time outside the template's schedule or when the template forbids it (400 naming the field), and
 * a manual start outside the schedule refused with the next allowed time (409 outside_schedule).
 */
import { startHarness as startBackend, type Harness as Backend } from '../../support/harness';
import { closeTemporal, seedTemplate, startHarness as startApi, type Harness as Api } from './harness';

afterAll(closeTemporal);

const MONDAY_10 = Date.parse('2025-03-31T10:00:00Z');
const office = { mon: [{ from: '08:00', to: '18:00' }], tue: [{ from: '08:00', to: '18:00' }] };

describe('autostart API', () => {
  let backend: Backend;
  let api: Api;
  let now = MONDAY_10;

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', { backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle }, config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey }, clock: () => now });
    expect((await api.call('POST', '/api/v1/templates', { body: seedTemplate('office', { schedule: office }) })).status).toBe(201);
    expect((await api.call('POST', '/api/v1/templates', { body: seedTemplate('noauto', { autostart: false }) })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
    await backend?.close();
  });

  it('sets, shows and clears an autostart without starting an update; refuses one outside the windows', async () => {
    const { token } = await api.user('early');
    const created = await api.call('POST', '/api/v1/spaces', { token, body: { name: 'desk', template: 'office', autostart: { days: ['mon', 'tue'], at: '09:00' } } });
    expect(created.status).toBe(201);
    expect(created.body.autostart).toEqual({ days: ['mon', 'tue'], at: '09:00' });
    expect((created.body.status as Record<string, unknown>).nextAutostartAt).toBe('2025-04-01T09:00:00.000Z');
    const id = created.body.id as string;

    const outside = await api.call('PATCH', `/api/v1/spaces/${id}`, { token, body: { autostart: { days: ['mon', 'sun'], at: '09:00' } } });
    expect(outside.status).toBe(400);
    expect(outside.body.errors).toEqual([{ path: 'autostart.at', message: expect.stringMatching(/09:00 on sun .*outside the template's schedule/) }]);
    const early = await api.call('PATCH', `/api/v1/spaces/${id}`, { token, body: { autostart: { days: ['mon'], at: '07:00' } } });
    expect(early.status).toBe(400);

    const moved = await api.call('PATCH', `/api/v1/spaces/${id}`, { token, body: { autostart: { days: ['tue'], at: '12:00', timezone: 'Europe/Paris' } } });
    expect(moved.status).toBe(200);
    expect((moved.body.status as Record<string, unknown>).nextAutostartAt).toBe('2025-04-01T10:00:00.000Z');
    const cleared = await api.call('PATCH', `/api/v1/spaces/${id}`, { token, body: { autostart: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.autostart).toBeNull();
    // settings only: the create is the one operation
    expect((await backend.store.operations.listOfSpace(id)).map((o) => o.type)).toEqual(['create']);

    const forbidden = await api.call('POST', '/api/v1/spaces', { token, body: { name: 'nope', template: 'noauto', autostart: { days: ['mon'], at: '09:00' } } });
    expect(forbidden.status).toBe(400);
    expect(forbidden.body.errors).toEqual([{ path: 'autostart', message: "template 'noauto' does not allow autostart" }]);
    expect(await backend.store.spaces.getByName((await backend.store.users.getByUsername('early'))!.id, 'nope')).toBeNull();
  });

  it('refuses a manual start outside the windows with the next allowed time', async () => {
    const { token } = await api.user('late');
    const created = await api.call('POST', '/api/v1/spaces', { token, body: { name: 'evening', template: 'office' } });
    expect(created.status).toBe(201);
    now = Date.parse('2025-03-31T19:00:00Z');
    const r = await api.call('POST', `/api/v1/spaces/${created.body.id as string}/start`, { token });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ type: 'https://knot.dev/problems/outside_schedule', nextAllowedAt: '2025-04-01T08:00:00.000Z', timezone: 'UTC' });
    expect(r.body.detail).toMatch(/next allowed start is 2025-04-01T08:00:00.000Z/);
    expect(await backend.store.operations.listOfSpace(created.body.id as string)).toHaveLength(1);
    now = MONDAY_10;
  });
});
