/** Manual spaces (seed 000): no Nomad job; start succeeds when the agent answers /ping. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newId } from '../../core/names';
import { resolveAgentUrl } from '../../activities/manual';
import { seedTemplate, seedUser, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

function agentServer(status: () => number): Promise<{ url: string; pings: () => number; close: () => Promise<void> }> {
  let pings = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/ping') pings++;
    res.writeHead(req.url === '/ping' ? status() : 404).end('pong');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        pings: () => pings,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

describe('manual spaces', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => {
    await h.close();
  });

  async function manualSpace(agentUrl: string, name: string) {
    const owner = await seedUser(h.store);
    const tpl = await seedTemplate(h.store, { name: `manual-${name}`, type: 'manual' });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name, ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl, requestedBy: owner.id }, owner.username, tpl.id);
    return { spaceId, owner };
  }

  it('starts when the agent answers /ping and stops without touching Nomad', async () => {
    let status = 503;
    const agent = await agentServer(() => status);
    try {
      const { spaceId, owner } = await manualSpace(agent.url, 'vm');
      const op = await h.lifecycle.startOperation({ spaceId, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'manual' });
      // the agent is still booting (503): the start keeps asking until it answers
      while (agent.pings() < 2) await new Promise((r) => setTimeout(r, 20));
      status = 200;
      expect((await waitForOperation(h.store, op.id)).status).toBe('succeeded');
      expect((await spaceOf(h.store, spaceId)).phase).toBe('running');
      const stop = await h.lifecycle.startOperation({ spaceId, type: 'stop', requestedBy: owner.id, ownerName: owner.username, templateName: 'manual' });
      expect((await waitForOperation(h.store, stop.id)).status).toBe('succeeded');
      expect((await spaceOf(h.store, spaceId)).phase).toBe('stopped');
      expect(h.sandbox.state().jobs).toHaveLength(0);
    } finally {
      await agent.close();
    }
  });

  it('fails fast when the URL answers but is not an agent', async () => {
    const agent = await agentServer(() => 404);
    try {
      const { spaceId, owner } = await manualSpace(agent.url, 'notagent');
      const op = await h.lifecycle.startOperation({ spaceId, type: 'start', requestedBy: owner.id, ownerName: owner.username, templateName: 'manual' });
      const done = await waitForOperation(h.store, op.id);
      expect(done).toMatchObject({ status: 'failed', errorType: 'agent_unreachable' });
      expect((await spaceOf(h.store, spaceId)).phase).toBe('stopped');
    } finally {
      await agent.close();
    }
  });

  it('resolves srv+http:// agent URLs by DNS SRV', async () => {
    const lookup = async (name: string) => (name === 'vm.service.consul' ? [{ name: '10.1.2.3', port: 3000, priority: 1, weight: 5 }] : []);
    await expect(resolveAgentUrl('srv+http://vm.service.consul', lookup as never)).resolves.toBe('http://10.1.2.3:3000');
    await expect(resolveAgentUrl('http://192.168.0.1:3000', lookup as never)).resolves.toBe('http://192.168.0.1:3000');
  });
});
