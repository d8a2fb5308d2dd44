/**
 * The agent in-process against a fake server (fake-knot-server.ts) with real PTYs: the link, the
 * terminal route (echo, resize, replay, bad frames, exit, fallback shell), the state stream, and
 * that the shell never sees the agent's token.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startAgent, type RunningAgent } from '../../../agent/agent';
import { parseAgentConfig } from '../../../agent/config';
import type { LinkEvent } from '../../../agent/link';
import { FrameType, payloadJson, payloadText, textPayload, type ExitInfo, type HelloInfo } from '../../../link/frames';
import { AgentRoute, LinkClose, TerminalHeader } from '../../../link/protocol';
import { agentStateReportSchema } from '../../../link/schemas';
import { FakeKnotServer, StateClient, TerminalClient, agentVersionOf, until } from './fake-knot-server';

const TOKEN = `agent-token-${randomBytes(8).toString('hex')}`;
const HOME = mkdtempSync(path.join(os.tmpdir(), 'knot-agent-home-'));
const sid = () => `s_${randomBytes(6).toString('hex')}`;

let server: FakeKnotServer;
let agent: RunningAgent;
const events: LinkEvent[] = [];

beforeAll(async () => {
  server = await FakeKnotServer.start(TOKEN);
  server.refuseNext = { count: 1, status: 429 }; // the first dial is refused: the agent must retry
  const config = parseAgentConfig({ KNOT_SERVER: server.url, KNOT_AGENT_TOKEN: TOKEN, KNOT_AGENT_PORT: '0', KNOT_TERMINAL_KEEP_SECONDS: '0.5' });
  agent = await startAgent(config, pino({ level: process.env.KNOT_TEST_LOG ?? 'silent' }), {
    backoff: () => 50,
    activityReportMs: 200,
    // the fake server is WebSocket-only (the raw link's fallback: link-lifecycle.test.ts)
    rawLink: false,
    // a clean home: the machine's dotfiles (pyenv init...) can make a login shell slow to start
    env: { ...process.env, HOME, KNOT_AGENT_TOKEN: TOKEN },
  });
  agent.onLinkState((e) => events.push(e));
});

afterAll(async () => {
  await agent?.stop();
  await server?.close();
  rmSync(HOME, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

describe('agent link', () => {
  it('retries a refused upgrade, then dials with the token, subprotocol and version', async () => {
    const c = await server.connection();
    expect(server.refused).toEqual([429]);
    expect(c.ws.protocol).toBe('knot-link.v1');
    expect(agentVersionOf(c)).toMatch(/^\d+\.\d+\.\d+/);
    await until(() => events.some((e) => e.state === 'connected'), 'a connected event');
    expect(agent.pingPort).toBeGreaterThan(0);
  });

  it('answers unknown paths with 404', async () => {
    const { h2 } = await server.connection();
    const req = h2.request({ ':method': 'GET', ':path': '/v1/nope' }, { endStream: true });
    const status = await new Promise<number>((r) => req.on('response', (h) => r(Number(h[':status']))));
    expect(status).toBe(404);
    req.close();
  });
});

describe('state stream', () => {
  it('reports the terminal now, and lastActivity and sessions as they change', async () => {
    const { h2 } = await server.connection();
    const state = new StateClient(h2);
    await until(() => state.reports.length > 0, 'the first state report');
    expect(state.status).toBe(200);
    const first = agentStateReportSchema.parse(state.latest);
    expect(first.services.terminal).toBe(true);
    expect(first.services.ports).not.toContain(agent.pingPort);

    const t = TerminalClient.open(h2, sid(), { shell: 'sh' });
    await until(() => (state.latest?.sessions ?? 0) >= 1, 'sessions ≥ 1');
    const before = state.latest!.lastActivity ?? 0;
    t.type('echo hi\r');
    await until(() => (state.latest?.lastActivity ?? 0) > before, 'lastActivity to move');
    t.type('exit\r');
    await until(() => t.ended, 'the shell to exit');
    state.stream.close();
  });
});

describe('terminal route', () => {
  it('echoes input through a real shell', async () => {
    const { h2 } = await server.connection();
    const t = TerminalClient.open(h2, sid());
    await until(() => t.frames.length > 0, 'the Hello frame');
    expect(t.status).toBe(200);
    const hello = payloadJson<HelloInfo>(t.frames[0]!.payload);
    expect(t.frames[0]!.type).toBe(FrameType.Hello);
    expect(hello).toMatchObject({ shell: 'bash', replayed: 0 });
    t.type('echo MARK_$RANDOM\r');
    await t.waitOutput(/MARK_\d+/, 'the expanded marker');
    t.close();
  });

  it('applies a Resize to the PTY (stty size)', async () => {
    const { h2 } = await server.connection();
    const t = TerminalClient.open(h2, sid(), { cols: 80, rows: 24 });
    t.resize(123, 45);
    t.type('stty size\r');
    await t.waitOutput(/45 123/, 'stty size 45 123');
    t.close();
  });

  it('replays recent output to a viewer re-attaching to the same session', async () => {
    const { h2 } = await server.connection();
    const id = sid();
    const a = TerminalClient.open(h2, id);
    a.type('echo REPLAY_$((6*7))\r');
    await a.waitOutput(/REPLAY_42/);
    a.close();
    await until(() => a.closed, 'the first stream to close');

    const b = TerminalClient.open(h2, id);
    await b.waitOutput(/REPLAY_42/, 'the replayed marker');
    expect(payloadJson<HelloInfo>(b.frames[0]!.payload).replayed).toBeGreaterThan(0);
    b.type('echo AGAIN_$((2+3))\r');
    await b.waitOutput(/AGAIN_5/, 'the same shell still answering');
    b.close();
  });

  it('fans output out to every viewer of a session and takes input from any', async () => {
    const { h2 } = await server.connection();
    const id = sid();
    const a = TerminalClient.open(h2, id);
    const b = TerminalClient.open(h2, id);
    await until(() => a.frames.length > 0 && b.frames.length > 0, 'both Hellos');
    b.type('echo FAN_$((10+1))\r');
    await a.waitOutput(/FAN_11/);
    await b.waitOutput(/FAN_11/);
    a.close();
    b.close();
  });

  it('closes only the stream that sent a bad frame', async () => {
    const { h2 } = await server.connection();
    const bad = TerminalClient.open(h2, sid());
    const good = TerminalClient.open(h2, sid());
    await until(() => bad.frames.length > 0 && good.frames.length > 0, 'both Hellos');
    bad.stream.write(Buffer.from([99, 0, 0, 0, 1, 0])); // type 99 does not exist
    await until(() => bad.of(FrameType.Error).length > 0 && bad.closed, 'an Error frame and the bad stream closing');
    expect(payloadText(bad.of(FrameType.Error)[0]!.payload)).toMatch(/unknown frame type 99/);

    const badResize = TerminalClient.open(h2, sid());
    badResize.send(FrameType.Resize, textPayload('{"cols":0}'));
    await until(() => badResize.of(FrameType.Error).length > 0 && badResize.closed, 'an Error for a bad resize');

    const upstream = TerminalClient.open(h2, sid());
    upstream.send(FrameType.Hello, textPayload('{}'));
    await until(() => upstream.of(FrameType.Error).length > 0 && upstream.closed, 'an Error for a frame only the agent sends');

    good.type('echo STILL_$((1+1))\r');
    await good.waitOutput(/STILL_2/, 'the other stream still working');
    good.close();
  });

  it('refuses bad headers with 400', async () => {
    const { h2 } = await server.connection();
    const cases = [
      { [TerminalHeader.session]: 'short', [TerminalHeader.shell]: 'bash', [TerminalHeader.cols]: '80', [TerminalHeader.rows]: '24' },
      { [TerminalHeader.session]: sid(), [TerminalHeader.shell]: 'python', [TerminalHeader.cols]: '80', [TerminalHeader.rows]: '24' },
      { [TerminalHeader.session]: sid(), [TerminalHeader.shell]: 'bash', [TerminalHeader.cols]: '0', [TerminalHeader.rows]: '24' },
    ];
    for (const headers of cases) {
      const t = new TerminalClient(h2, headers);
      await until(() => t.closed, 'the refused stream to close');
      expect(t.status).toBe(400);
    }
    const get = h2.request({ ':method': 'GET', ':path': AgentRoute.terminal }, { endStream: true });
    expect(await new Promise<number>((r) => get.on('response', (h) => r(Number(h[':status']))))).toBe(405);
  });

  it('falls back to sh with a Notice when the shell is not installed', async () => {
    const { h2 } = await server.connection();
    const missing = ['zsh', 'fish'].find((s) => !['/usr/local/bin', '/usr/bin', '/bin'].some((d) => existsSync(`${d}/${s}`)));
    if (!missing) return; // both installed here: nothing to fall back from
    const t = TerminalClient.open(h2, sid(), { shell: missing });
    await until(() => t.of(FrameType.Notice).length > 0, 'a Notice');
    expect(payloadText(t.of(FrameType.Notice)[0]!.payload)).toBe(`${missing} is not installed in this space; using sh`);
    expect(payloadJson<HelloInfo>(t.frames[0]!.payload).shell).toBe('sh');
    t.close();
  });

  it('sends Exit and ends the stream when the shell exits', async () => {
    const { h2 } = await server.connection();
    const t = TerminalClient.open(h2, sid(), { shell: 'sh' });
    t.type('exit 3\r');
    await until(() => t.ended, 'the stream to end');
    const exit = t.of(FrameType.Exit);
    expect(exit).toHaveLength(1);
    expect(payloadJson<ExitInfo>(exit[0]!.payload).code).toBe(3);
  });

  it('never passes the agent token to the shell, which starts in the home directory', async () => {
    const { h2 } = await server.connection();
    const t = TerminalClient.open(h2, sid());
    t.type('echo TOKEN_${KNOT_AGENT_TOKEN:-absent}; env | grep -c agent-token- ; echo "PWD_$(pwd)"; echo TERM_$TERM\r');
    await t.waitOutput(/TERM_xterm-256color/);
    expect(t.output).toContain('TOKEN_absent');
    expect(t.output).toContain(`PWD_${HOME}`);
    expect(t.output).not.toContain(TOKEN);
    t.close();
  });

  it('kills a session nobody re-attaches to within the keep time', async () => {
    const { h2 } = await server.connection();
    const state = new StateClient(h2);
    // the earlier tests' sessions (all detached) go after the same keep time
    await until(() => state.latest?.sessions === 0, 'earlier sessions to be gone');
    const t = TerminalClient.open(h2, sid(), { shell: 'sh' });
    await until(() => state.latest!.sessions === 1, 'the session to count');
    t.close();
    await until(() => state.latest!.sessions === 0, 'the session to be killed after the keep time');
    state.stream.close();
  });
});

describe('link lifecycle', () => {
  it('redials after the server closes the link, and terminal sessions survive it', async () => {
    const first = await server.connection();
    const id = sid();
    const t = TerminalClient.open(first.h2, id);
    t.type('echo SURVIVE_$((3*3))\r');
    await t.waitOutput(/SURVIVE_9/);
    const n = server.connections.length;
    first.ws.close(LinkClose.Unauthorized, 'revoked');
    await until(() => events.some((e) => e.state === 'disconnected' && e.code === LinkClose.Unauthorized), 'a disconnected event with 4401');
    const second = await server.connection(n);
    const again = TerminalClient.open(second.h2, id);
    await again.waitOutput(/SURVIVE_9/, 'the replay over the new link');
    again.close();
    // keep the rest of the file on the live link
    server.connections.splice(0, server.connections.length, second);
  });

  it('keeps HTTP/2 session settings for big output (flow control holds)', async () => {
    const { h2 } = await server.connection();
    const t = TerminalClient.open(h2, sid());
    t.type('head -c 3000000 /dev/zero | tr "\\0" x; echo; echo BIG_DONE_$((1+1))\r');
    await until(() => /BIG_DONE_2/.test(t.output), 'a 3 MB burst to arrive', 30_000);
    expect(t.output.split('x').length - 1).toBeGreaterThanOrEqual(3_000_000);
    t.close();
    expect(http2.constants.NGHTTP2_NO_ERROR).toBe(0);
  });
});
