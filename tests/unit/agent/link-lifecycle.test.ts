/**
 * The link's lifecycle against a fake server: a link that goes silent (no pong) is dropped and
 * redialled, a wrong token is retried rather than given up on, and stop() closes with 1001.
 */
import type { Socket } from 'node:net';
import pino from 'pino';
import { startAgent, type RunningAgent } from '../../../agent/agent';
import { parseAgentConfig } from '../../../agent/config';
import { describeClose } from '../../../agent/link';
import { LinkClose } from '../../../link/protocol';
import { FakeKnotServer, until } from './fake-knot-server';

const TOKEN = 'lifecycle-token-abcdef';
const quiet = pino({ level: 'silent' });

describe('link lifecycle', () => {
  let server: FakeKnotServer;
  let agent: RunningAgent | null = null;

  beforeEach(async () => {
    server = await FakeKnotServer.start(TOKEN);
  });
  afterEach(async () => {
    await agent?.stop();
    agent = null;
    await server.close();
  });

  const start = (token = TOKEN) =>
    startAgent(parseAgentConfig({ KNOT_SERVER: server.url, KNOT_AGENT_TOKEN: token, KNOT_AGENT_PORT: 'off' }), quiet, { heartbeatMs: 50, deadAfterMs: 300, backoff: () => 20, rawLink: false });

  it('drops a silent link and dials again', async () => {
    agent = await start();
    const first = await server.connection();
    // stop reading: the agent's pings go unanswered
    (first.ws as unknown as { _socket: Socket })._socket.pause();
    const second = await server.connection(1);
    expect(second).not.toBe(first);
  });

  it('keeps retrying a refused token', async () => {
    agent = await start('wrong-token');
    await until(() => server.refused.length >= 3, 'three refused dials');
    expect(server.connections).toHaveLength(0);
    expect(agent.pingPort).toBeNull();
  });

  it('closes the link with 1001 on stop', async () => {
    agent = await start();
    const c = await server.connection();
    const code = new Promise<number>((r) => c.ws.once('close', (n) => r(n)));
    await agent.stop();
    expect(await code).toBe(LinkClose.GoingAway);
  });
});

describe('describeClose', () => {
  it('says what the close codes mean', () => {
    expect(describeClose(LinkClose.Unauthorized, '')).toBe('token refused (revoked or wrong space); retrying');
    expect(describeClose(LinkClose.Duplicate, '')).toMatch(/another agent holds the link/);
    expect(describeClose(1006, '')).toBe('connection lost');
    expect(describeClose(4000, 'odd')).toBe('odd');
  });
});
