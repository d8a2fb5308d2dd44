/**
 * The terminal attach layer: URL building, backoff, close-code classification, session ids, and one
 * connection against a local `ws` server standing in for the API (Hello, replay, input, resize,
 * a network drop and the reconnect with the same session, Exit).
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { backoffDelay, classifyClose, newTerminalSessionId, TerminalConnection, terminalUrl, type TerminalStatus, type TerminalStatusDetail } from '../../../client';
import { decodeMessage, encodeMessage, FrameType, jsonPayload, payloadJson, payloadText, textPayload } from '../../../link/frames';
import { TERMINAL_SESSION_ID } from '../../../link/protocol';

test('terminalUrl: ws for http, wss for https, a base path kept, the query complete', () => {
  const u = new URL(terminalUrl('http://127.0.0.1:3000/', 'sp 1', { session: 'abcdefgh12345678', shell: 'zsh', cols: 120, rows: 40 }));
  expect(u.protocol).toBe('ws:');
  expect(u.host).toBe('127.0.0.1:3000');
  expect(u.pathname).toBe('/api/v1/spaces/sp%201/terminal');
  expect(Object.fromEntries(u.searchParams)).toEqual({ session: 'abcdefgh12345678', shell: 'zsh', cols: '120', rows: '40' });
  expect(terminalUrl('https://knot.example/base/', 'x', { session: 's'.repeat(16), cols: 80, rows: 24 })).toBe(`wss://knot.example/base/api/v1/spaces/x/terminal?session=${'s'.repeat(16)}&cols=80&rows=24`);
  expect(terminalUrl('wss://k.example', 'x', { session: 's'.repeat(16), cols: 1, rows: 1 })).toMatch(/^wss:\/\/k\.example\/api\//);
  expect(() => terminalUrl('ftp://k.example', 'x', { session: 's'.repeat(16), cols: 1, rows: 1 })).toThrow(/http\(s\) or ws\(s\)/);
});

test('backoff: 1 s, 2 s, 4 s, 8 s, then 15 s', () => {
  expect([1, 2, 3, 4, 5, 6, 50].map(backoffDelay)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  expect(backoffDelay(0)).toBe(1000);
});

test('close codes: exit, not found and not running end it; the network and a missing agent retry', () => {
  expect(classifyClose(1000, true)).toBe('exit');
  expect(classifyClose(1006, true)).toBe('exit');
  expect(classifyClose(1000, false)).toBe('ended');
  expect(classifyClose(4404, false)).toBe('not-found');
  expect(classifyClose(4409, false)).toBe('not-running');
  expect(classifyClose(4400, false)).toBe('bad-frame');
  expect(classifyClose(4401, false)).toBe('unauthorized');
  expect(classifyClose(4422, false)).toBe('refused');
  for (const code of [1001, 1006, 1011, 4408, 4429, 4500, 4503, 4999]) expect(classifyClose(code, false)).toBe('retry');
});

test('session ids: 16 characters the server accepts, all different', () => {
  const ids = new Set(Array.from({ length: 200 }, newTerminalSessionId));
  expect(ids.size).toBe(200);
  for (const id of ids) {
    expect(id).toHaveLength(16);
    expect(id).toMatch(TERMINAL_SESSION_ID);
  }
});

describe('TerminalConnection against a local server', () => {
  let wss: WebSocketServer;
  let base: string;
  const sockets: WebSocket[] = [];
  const urls: URL[] = [];
  const heard: { type: number; payload: Uint8Array }[] = [];
  let onConnect: (ws: WebSocket, n: number) => void = () => undefined;

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    base = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (ws, req) => {
      sockets.push(ws);
      urls.push(new URL(req.url ?? '/', base));
      expect(req.headers.authorization).toBe('Bearer t0k');
      ws.on('message', (m: Buffer) => heard.push(decodeMessage(new Uint8Array(m))));
      onConnect(ws, sockets.length);
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await new Promise((r) => wss.close(r));
  });

  const hello = (session: string, replayed: number) => encodeMessage(FrameType.Hello, jsonPayload({ session, shell: 'bash', replayed }));
  const until = async (what: string, ok: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  test('attaches, sends input and resizes, reconnects after a drop with the same session, ends on Exit', async () => {
    const statuses: [TerminalStatus, TerminalStatusDetail][] = [];
    const output: string[] = [];
    const hellos: number[] = [];
    let exit: unknown = null;
    onConnect = (ws, n) => {
      const session = new URL(urls[n - 1]!).searchParams.get('session')!;
      ws.send(hello(session, n === 1 ? 0 : 6));
      ws.send(encodeMessage(FrameType.Data, textPayload(n === 1 ? 'hi\r\n' : 'replay')));
      if (n === 2) ws.send(encodeMessage(FrameType.Notice, textPayload('zsh is not installed here; using sh')));
    };
    const conn = new TerminalConnection({
      url: base,
      spaceId: 'space-1',
      shell: 'bash',
      cols: 80,
      rows: 24,
      WebSocketImpl: WebSocket,
      headers: { authorization: 'Bearer t0k' },
      onData: (b) => output.push(new TextDecoder().decode(b)),
      onHello: (h) => hellos.push(h.replayed),
      onNotice: (t) => output.push(`[${t}]`),
      onExit: (e) => (exit = e),
      onStatus: (s, d) => statuses.push([s, d]),
    });
    expect(conn.session).toMatch(TERMINAL_SESSION_ID);
    // typed before the Hello: kept and sent once attached
    conn.send('ls\r');
    await until('the first output', () => output.includes('hi\r\n'));
    expect(Object.fromEntries(urls[0]!.searchParams)).toEqual({ session: conn.session, shell: 'bash', cols: '80', rows: '24' });
    await until('the queued input', () => heard.length === 1);
    conn.resize(100, 30);
    conn.send(new Uint8Array([3]));
    await until('resize and ^C', () => heard.length === 3);
    expect(heard.map((f) => f.type)).toEqual([FrameType.Data, FrameType.Resize, FrameType.Data]);
    expect(payloadText(heard[0]!.payload)).toBe('ls\r');
    expect(payloadJson(heard[1]!.payload)).toEqual({ cols: 100, rows: 30 });
    expect([...heard[2]!.payload]).toEqual([3]);

    // the network drops: one reconnect after 1 s, same session, the new size in the URL
    sockets[0]!.terminate();
    await until('the reconnect', () => output.includes('replay'), 4000);
    expect(urls[1]!.searchParams.get('session')).toBe(conn.session);
    expect(urls[1]!.searchParams.get('cols')).toBe('100');
    expect(hellos).toEqual([0, 6]);
    expect(output).toContain('[zsh is not installed here; using sh]');
    const reconnecting = statuses.find(([s]) => s === 'reconnecting');
    expect(reconnecting?.[1]).toMatchObject({ attempt: 1, delayMs: 1000, code: 1006 });
    expect(statuses.map(([s]) => s)).toEqual(['connecting', 'open', 'reconnecting', 'open']);

    // the shell exits: Exit, then 1000; no reconnect
    sockets[1]!.send(encodeMessage(FrameType.Exit, jsonPayload({ code: 3, signal: null })));
    sockets[1]!.close(1000);
    await until('closed', () => conn.status === 'closed');
    expect(exit).toEqual({ code: 3, signal: null });
    expect(statuses.at(-1)).toEqual(['closed', { kind: 'exit', code: 1000, reason: '' }]);
    await new Promise((r) => setTimeout(r, 1200));
    expect(sockets).toHaveLength(2);
  });

  test('4409 (space not running) ends it at once, with the server Error text', async () => {
    const before = sockets.length;
    onConnect = (ws) => {
      ws.send(encodeMessage(FrameType.Error, textPayload('the space is not running')));
      ws.close(4409, 'not running');
    };
    const statuses: [TerminalStatus, TerminalStatusDetail][] = [];
    const conn = new TerminalConnection({ url: base, spaceId: 's', cols: 80, rows: 24, WebSocketImpl: WebSocket, headers: { authorization: 'Bearer t0k' }, onStatus: (s, d) => statuses.push([s, d]) });
    await until('closed', () => conn.status === 'closed');
    expect(statuses).toEqual([
      ['connecting', {}],
      ['closed', { kind: 'not-running', code: 4409, reason: 'not running', error: 'the space is not running' }],
    ]);
    await new Promise((r) => setTimeout(r, 1200));
    expect(sockets.length).toBe(before + 1);
  });

  test('close() stops reconnecting', async () => {
    const before = sockets.length;
    onConnect = (ws) => ws.close(4503, 'agent not connected');
    const statuses: TerminalStatus[] = [];
    const conn = new TerminalConnection({ url: base, spaceId: 's', session: 'fixed-session-01', cols: 80, rows: 24, WebSocketImpl: WebSocket, headers: { authorization: 'Bearer t0k' }, onStatus: (s) => statuses.push(s) });
    await until('reconnecting', () => conn.status === 'reconnecting');
    conn.close();
    await new Promise((r) => setTimeout(r, 1300));
    expect(sockets.length).toBe(before + 1);
    expect(statuses).toEqual(['connecting', 'reconnecting', 'closed']);
  });
});
