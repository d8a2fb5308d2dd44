/**
 * The agent token of a manual space over the API: issued to its owner or an admin (others: 404),
 * refused for a Nomad space (409), shown once, replacing the last, audited without the secret, and
 * accepted by the agent route; and the agent status in the space's JSON.
 */
import { hashToken } from '../../../core/crypto';
import { newId } from '../../../core/names';
import { KnotClient } from '../../../client';
import { seedTemplate as storeTemplate } from '../../support/harness';
import { closeTemporal, startHarness, type Harness } from './harness';

afterAll(closeTemporal);

describe('POST /api/v1/spaces/:id/agent-token', () => {
  let h: Harness;
  let alice: { token: string; id: string };
  let bob: { token: string; id: string };
  let manualId = '';
  let nomadId = '';

  beforeAll(async () => {
    h = await startHarness('sqlite');
    const a = await h.user('alice');
    const b = await h.user('bob');
    alice = { token: a.token, id: a.user.id };
    bob = { token: b.token, id: b.user.id };
    const manual = await storeTemplate(h.store, { name: 'byhand', type: 'manual' });
    const nomad = await storeTemplate(h.store, { name: 'onnomad', job: 'job "x" {}' });
    manualId = newId(Date.now());
    nomadId = newId(Date.now() + 1);
    await h.store.spaces.insert({ id: manualId, name: 'laptop', ownerId: alice.id, templateId: manual.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: 'http://127.0.0.1:1' }, Date.now());
    await h.store.spaces.insert({ id: nomadId, name: 'cluster', ownerId: alice.id, templateId: nomad.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, Date.now());
  });
  afterAll(async () => h.close());

  test('the owner gets a token once; the next one replaces it; the agent route takes it', async () => {
    const first = await h.call('POST', `/api/v1/spaces/${manualId}/agent-token`, { token: alice.token });
    expect(first.status).toBe(201);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toEqual({ token: expect.stringMatching(/^knot_agent_[A-Za-z0-9_-]{43}$/), spaceId: manualId, createdAt: expect.any(String) });
    const token = first.body.token as string;
    expect(await h.store.agentTokens.findByHash(hashToken(token))).toMatchObject({ spaceId: manualId, kind: 'manual' });

    // by name too, as the CLI calls it
    const second = await new KnotClient({ url: h.url, token: alice.token }).issueAgentToken('laptop');
    expect(second.spaceId).toBe(manualId);
    expect(second.token).not.toBe(token);
    expect(await h.store.agentTokens.findByHash(hashToken(token))).toBeNull();

    const report = (t: string) => h.call('POST', `/api/v1/agents/${manualId}/state`, { token: t, body: { services: { terminal: true } } });
    expect((await report(token)).status).toBe(401);
    expect((await report(second.token)).status).toBe(204);

    // audited, never with the secret
    const audit = await h.store.audit.list({ action: 'agent_token.create', resourceId: manualId, limit: 10 });
    expect(audit.map((e) => [e.actor, e.outcome])).toEqual([
      ['alice', 'ok'],
      ['alice', 'ok'],
    ]);
    expect(await h.rawDump()).not.toContain(second.token);
  });

  test('an admin may issue one; another user gets 404', async () => {
    expect((await h.call('POST', `/api/v1/spaces/${manualId}/agent-token`, { token: bob.token })).status).toBe(404);
    expect((await h.call('POST', `/api/v1/spaces/${manualId}/agent-token`)).status).toBe(201);
  });

  test('a Nomad space is refused with 409 problem+json and gets no token', async () => {
    const r = await h.call('POST', `/api/v1/spaces/${nomadId}/agent-token`, { token: alice.token });
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await h.store.agentTokens.revokeForSpace(nomadId)).toBe(0);
  });

  test("the space's JSON carries the agent status", async () => {
    const r = await h.call('GET', `/api/v1/spaces/${manualId}`, { token: alice.token });
    expect(r.status).toBe(200);
    const agent = (r.body.status as { agent: Record<string, unknown> }).agent;
    // stopped: whatever the agent said, it is not connected as far as the space is concerned
    expect(agent).toMatchObject({ state: 'disconnected', connected: false, services: {}, sessions: 0 });
    expect(agent.lastSeen).toEqual(expect.any(String));
  });
});
