/**
 * The web terminal over the server's WebSocket, with a real agent process and a real PTY, through
 * the typed client's TerminalConnection: input echoed, resize applied, output replayed after a
 * reconnect, the shell surviving an API restart, several terminals per space; and the refusals:
 * a stranger, another user, a forged Origin, a malformed or oversized frame (only that terminal).
 */
import { WebSocket } from 'ws';
import { FrameType } from '../../link/frames';
import { terminalPath } from '../../link/protocol';
import { newTerminalSessionId } from '../../client/terminal';
import { startAgentStack, type AgentStack } from '../support/agent-stack';
import { openTerminal } from '../support/terminal';
import { until } from '../support/wait';

/** A raw WebSocket to the terminal route: the status of a refused upgrade, or the close of an accepted one. */
function rawTerminal(base: string, spaceId: string, headers: Record<string, string>, session = newTerminalSessionId()) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${terminalPath(spaceId)}?session=${session}`, { headers });
  const messages: Buffer[] = [];
  ws.on('message', (m: Buffer) => messages.push(m));
  const outcome = new Promise<{ status?: number; code?: number; reason?: string }>((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.once('error', () => resolve({ status: 0 }));
  });
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  return { ws, messages, outcome, opened };
}

describe('web terminal through the agent link', () => {
  let s: AgentStack;
  let id: string;
  const marker = () => `M${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    s = await startAgentStack('sqlite');
    ({ id } = await s.runningSpace('term'));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('runs commands in a real PTY, applies a resize, and replays the output after a reconnect', async () => {
    const t = openTerminal(s.api.url, id, s.alice, { cols: 100, rows: 30 });
    await t.waitStatus('open');
    expect(t.hellos[0]).toMatchObject({ shell: 'bash' });
    const m = marker();
    t.conn.send(`echo ${m}-$((6*7))\r`);
    await t.waitFor(new RegExp(`${m}-42`));
    t.conn.send('stty size\r');
    await t.waitFor(/\b30 100\b/);
    t.conn.resize(132, 41);
    t.conn.send('stty size\r');
    await t.waitFor(/\b41 132\b/);
    // the token the agent holds is not in the user's shell
    t.conn.send('env | grep -c KNOT_AGENT_TOKEN || true\r');
    await t.waitFor(/[\r\n]0\r\n/);
    const session = t.conn.session;
    t.close();

    // the same session id again: the earlier output comes back, and the shell is the same one
    const again = openTerminal(s.api.url, id, s.alice, { session });
    await again.waitStatus('open');
    expect(again.hellos[0]!.replayed).toBeGreaterThan(0);
    await again.waitFor(new RegExp(`${m}-42`));
    again.conn.send('echo pid=$$\r');
    const [, pid] = await again.waitFor(/pid=(\d+)/);
    again.close();
    const third = openTerminal(s.api.url, id, s.alice, { session });
    third.conn.send('echo pid=$$\r');
    await third.waitFor(new RegExp(`pid=${pid}\\b[\\s\\S]*pid=${pid}\\b`));
    third.close();

    // every terminal opened is in the audit log
    const audit = await s.api.client.listAudit({ action: 'terminal.open' } as never);
    expect(audit.items.some((e: { resourceId: string | null; actor: string }) => e.resourceId === id && e.actor === 'alice')).toBe(true);
  });

  it('keeps several terminals apart, and a bad frame closes only its own', async () => {
    const a = openTerminal(s.api.url, id, s.alice);
    const b = openTerminal(s.api.url, id, s.alice);
    await Promise.all([a.waitStatus('open'), b.waitStatus('open')]);
    a.conn.send('A=alpha\r');
    b.conn.send('echo "A is [$A]"\r');
    await b.waitFor(/A is \[\]/);

    // an unknown frame type: an Error frame, close 4400, and the other terminal carries on
    const bad = rawTerminal(s.api.url, id, { Authorization: `Bearer ${s.alice}` });
    await bad.opened;
    bad.ws.send(Buffer.from([99, 1, 2, 3]));
    expect(await bad.outcome).toMatchObject({ code: 4400 });
    expect(bad.messages.some((m) => m[0] === FrameType.Error && /unknown frame type 99/.test(m.subarray(1).toString()))).toBe(true);
    // an oversized message: closed by the size limit
    const big = rawTerminal(s.api.url, id, { Authorization: `Bearer ${s.alice}` });
    await big.opened;
    big.ws.send(Buffer.concat([Buffer.from([FrameType.Data]), Buffer.alloc(200 * 1024, 0x61)]));
    expect(await big.outcome).toMatchObject({ code: 1009 });

    const m = marker();
    a.conn.send(`echo ${m}\r`);
    await a.waitFor(new RegExp(m));
    a.close();
    b.close();
  });

  it('refuses strangers, other users and forged origins', async () => {
    const stranger = rawTerminal(s.api.url, id, {});
    expect(await stranger.outcome).toMatchObject({ status: 401 });
    const revoked = rawTerminal(s.api.url, id, { Authorization: 'Bearer knot_notatoken000000000000' });
    expect(await revoked.outcome).toMatchObject({ status: 401 });
    const forged = rawTerminal(s.api.url, id, { Authorization: `Bearer ${s.alice}`, Origin: 'http://evil.example' });
    expect(await forged.outcome).toMatchObject({ status: 403 });
    // bob is signed in but the space is not his: the same answer as for a space that does not exist
    const bob = rawTerminal(s.api.url, id, { Authorization: `Bearer ${s.bob}` });
    expect(await bob.outcome).toMatchObject({ code: 4404 });
    const none = rawTerminal(s.api.url, '01J00000000000000000000000', { Authorization: `Bearer ${s.alice}` });
    expect(await none.outcome).toMatchObject({ code: 4404 });
    // our own origin is fine
    const own = openTerminal(s.api.url, id, s.alice, { headers: { Origin: s.api.url } });
    await own.waitStatus('open');
    own.close();
  });

  it('brings the same shell back after an API restart', async () => {
    const t = openTerminal(s.api.url, id, s.alice);
    await t.waitStatus('open');
    const m = marker();
    t.conn.send(`export SURVIVOR=${m}; echo set-$SURVIVOR\r`);
    await t.waitFor(new RegExp(`set-${m}`));
    await s.restartApi();
    // the client reconnects on its own with the same session once the agent has linked again
    await until('the agent to link again', () => s.api.links.get(id), 40_000, 50);
    await until('the terminal to reattach', () => t.hellos.length >= 2, 40_000, 50);
    t.conn.send('echo got-$SURVIVOR\r');
    await t.waitFor(new RegExp(`got-${m}`));
    t.close();
  });

  it('ends open terminals when the space stops', async () => {
    const t = openTerminal(s.api.url, id, s.alice);
    await t.waitStatus('open');
    await s.api.client.as(s.alice).stopSpace(id);
    await s.settled(id, 'stopped');
    const closed = await until('the terminal to close for good', () => t.statuses.find((x) => x.status === 'closed'), 20_000, 20);
    expect(closed.detail.kind).toBe('not-running');
  });
});
