/**
 * The agent link with a real `knot agent` process against the real stack (API, worker on the
 * Temporal dev server, the Nomad sandbox, SQLite): who may link, one live link per space, a dead
 * link noticed within the heartbeat bound, the link ended when a stop revokes the token, and the
 * agent dialling again after an API restart. Heartbeats are shortened for the test (300 ms, dead
 * after 1.2 s); the production values are in link/protocol.ts.
 */
import { WebSocket } from 'ws';
import { AGENT_VERSION_HEADER, LINK_PATH, LINK_SUBPROTOCOL, SPACE_ID_HEADER } from '../../link/protocol';
import { startAgentStack, TEST_LINK_TIMINGS, type AgentStack } from '../support/agent-stack';
import { until } from '../support/wait';

/** Dials the link as an agent would and says how the server answered the upgrade. */
function dial(url: string, headers: Record<string, string>): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + LINK_PATH, LINK_SUBPROTOCOL, { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('error', () => resolve({ status: 0 }));
  });
}

describe('agent link with a real agent process', () => {
  let s: AgentStack;
  beforeAll(async () => {
    s = await startAgentStack('sqlite');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('links with the minted token, reports its services, and nobody else may link', async () => {
    const { id, env } = await s.startedSpace('linked');
    expect(env.KNOT_AGENT_TOKEN).toMatch(/^knot_agent_/);
    expect((await s.space(id)).status.agent.state).toBe('connecting');

    // an agent whose KNOT_SPACEID names another space than its token is refused
    const misplaced = s.spawnAgent({ ...env, KNOT_SPACEID: '01J00000000000000000000000' });
    await until('the misplaced agent to be refused', () => /401/.test(misplaced.output()), 15_000);
    await misplaced.stop();
    expect((await s.space(id)).status.agent.state).toBe('connecting');

    const agent = s.spawnAgent(env);
    const linked = await s.agentState(id, 'connected').catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.output()}`);
    });
    expect(linked.status.agent.version).toMatch(/\d+\.\d+\.\d+/);
    await until('terminal service reported', async () => (await s.space(id)).status.agent.services.terminal === true);
    // another user does not see the space at all
    await expect(s.space(id, s.bob)).rejects.toMatchObject({ status: 404 });

    const url = s.api.url;
    // no token, a wrong token, a token presented for another space: 401, and the live link stays
    expect((await dial(url, {})).status).toBe(401);
    expect((await dial(url, { Authorization: 'Bearer knot_agent_forged' })).status).toBe(401);
    expect((await dial(url, { Authorization: `Bearer ${env.KNOT_AGENT_TOKEN}`, [SPACE_ID_HEADER]: '01J00000000000000000000000' })).status).toBe(401);
    // a web page may not act as an agent
    expect((await dial(url, { Authorization: `Bearer ${env.KNOT_AGENT_TOKEN}`, Origin: url })).status).toBe(403);
    // the valid token while the link answers: a second agent is refused
    expect((await dial(url, { Authorization: `Bearer ${env.KNOT_AGENT_TOKEN}`, [AGENT_VERSION_HEADER]: '9.9.9' })).status).toBe(409);
    expect((await s.space(id)).status.agent.state).toBe('connected');

    // the stop revokes the token: the link ends at once, and the token no longer links
    await s.api.client.as(s.alice).stopSpace(id);
    await s.settled(id, 'stopped');
    await until('the link to end', () => s.api.links.get(id) === undefined);
    expect((await s.space(id)).status.agent.state).toBe('disconnected');
    expect((await dial(url, { Authorization: `Bearer ${env.KNOT_AGENT_TOKEN}` })).status).toBe(401);
  });

  it('notices a dead link within the heartbeat bound, lets a new agent replace it, and relinks after an API restart', async () => {
    const { id, env } = await s.startedSpace('beating');
    const first = s.spawnAgent(env);
    await s.agentState(id, 'connected');

    // a frozen agent answers no pings: disconnected within deadAfterMs (+ a beat or two)
    first.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    await s.agentState(id, 'disconnected', 10_000);
    expect(Date.now() - frozenAt).toBeLessThan(TEST_LINK_TIMINGS.deadAfterMs + 3 * TEST_LINK_TIMINGS.heartbeatMs + 1500);
    first.child.kill('SIGKILL');

    // a fresh agent with the same token takes the space's link over
    const second = s.spawnAgent(env);
    await s.agentState(id, 'connected');

    // the API restarts on the same port: the agent dials again on its own
    expect(s.api.links.get(id)).toBeDefined();
    await s.restartApi();
    await until('the agent to link to the new API process', () => s.api.links.get(id), 40_000, 50);
    expect((await s.space(id)).status.agent.state).toBe('connected');

    // SIGTERM (Nomad's kill) ends the agent cleanly and promptly
    const t0 = Date.now();
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    await s.agentState(id, 'disconnected', 5000);
  });

  it('rate-limits failed link attempts like user tokens', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) answers.push((await dial(s.api.url, { Authorization: `Bearer knot_agent_guess${i}` })).status);
    // 20 failures a minute per address (earlier refusals in this file may have used some): 401s, then 429s
    const limitedFrom = answers.indexOf(429);
    expect(limitedFrom).toBeGreaterThan(10);
    expect(limitedFrom).toBeLessThanOrEqual(21);
    expect(answers.slice(0, limitedFrom).every((a) => a === 401)).toBe(true);
    expect(answers.slice(limitedFrom).every((a) => a === 429)).toBe(true);
  });
});
