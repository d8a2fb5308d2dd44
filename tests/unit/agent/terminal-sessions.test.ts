/**
 * TerminalSessions with a fake PTY: the session limit, backpressure (pause while a viewer is full,
 * resume when every full viewer drained or left), the keep timer and re-attach.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import pino from 'pino';
import { FrameType, StreamFrameDecoder, payloadText, type Frame } from '../../../link/frames';
import { shellSearchPath } from '../../../agent/shells';
import { TerminalSessions, type PtyModule, type Viewer } from '../../../agent/terminal-sessions';

class FakePty {
  pid = 4242;
  paused = false;
  written: string[] = [];
  private dataCb: (d: Buffer) => void = () => undefined;
  private exitCb: (e: { exitCode: number; signal?: number }) => void = () => undefined;
  onData = (cb: (d: Buffer) => void) => (this.dataCb = cb);
  onExit = (cb: (e: { exitCode: number; signal?: number }) => void) => (this.exitCb = cb);
  write = (d: Buffer) => this.written.push(d.toString());
  resize = jest.fn();
  pause = () => (this.paused = true);
  resume = () => (this.paused = false);
  kill = jest.fn(() => this.exit(0, 1));
  emit(text: string) {
    this.dataCb(Buffer.from(text));
  }
  exit(exitCode: number, signal?: number) {
    this.exitCb({ exitCode, ...(signal === undefined ? {} : { signal }) });
  }
}

class FakeViewer extends EventEmitter implements Viewer {
  destroyed = false;
  full = false;
  ended = false;
  frames: Frame[] = [];
  private decoder = new StreamFrameDecoder();
  write(chunk: Uint8Array): boolean {
    this.frames.push(...this.decoder.push(chunk));
    return !this.full;
  }
  end() {
    this.ended = true;
  }
  drain() {
    this.full = false;
    this.emit('drain');
  }
  get text() {
    return this.frames
      .filter((f) => f.type === FrameType.Data)
      .map((f) => payloadText(f.payload))
      .join('');
  }
}

function setup(opts: { maxSessions?: number; keepMs?: number } = {}) {
  const ptys: FakePty[] = [];
  const counts: number[] = [];
  let activity = 0;
  const pty = { spawn: () => ptys[ptys.push(new FakePty()) - 1] } as unknown as PtyModule;
  const sessions = new TerminalSessions({
    pty,
    keepMs: opts.keepMs ?? 60_000,
    maxSessions: opts.maxSessions ?? 32,
    env: {},
    cwd: '/',
    searchPath: shellSearchPath(process.env.PATH),
    logger: pino({ level: 'silent' }),
    onCountChange: (n) => counts.push(n),
    onActivity: () => activity++,
  });
  return { sessions, ptys, counts, activity: () => activity };
}

const req = (id: string) => ({ id, shell: 'sh' as const, cols: 80, rows: 24 });

describe('TerminalSessions', () => {
  afterEach(() => jest.useRealTimers());

  it('refuses a session past the limit', () => {
    const { sessions } = setup({ maxSessions: 2 });
    expect(sessions.attach(req('aaaaaaaa'), new FakeViewer()).ok).toBe(true);
    expect(sessions.attach(req('bbbbbbbb'), new FakeViewer()).ok).toBe(true);
    expect(sessions.attach(req('cccccccc'), new FakeViewer())).toEqual({ ok: false, reason: 'too many terminal sessions' });
    // attaching to an existing one is still fine
    expect(sessions.attach(req('aaaaaaaa'), new FakeViewer()).ok).toBe(true);
  });

  const endOfTurn = () => new Promise((r) => setImmediate(r));

  it('sends the reads of one event-loop turn as one frame', async () => {
    const { sessions, ptys } = setup();
    const a = new FakeViewer();
    sessions.attach(req('coalesce1'), a);
    const before = a.frames.length;
    ptys[0]!.emit('one ');
    ptys[0]!.emit('two ');
    ptys[0]!.emit('three');
    expect(a.frames.length).toBe(before);
    await endOfTurn();
    expect(a.frames.slice(before).map((f) => f.type)).toEqual([FrameType.Data]);
    expect(a.text).toBe('one two three');
  });

  it('pauses the PTY while any viewer is full and resumes when all drained or left', async () => {
    const { sessions, ptys } = setup();
    const a = new FakeViewer();
    const b = new FakeViewer();
    sessions.attach(req('bp_session'), a);
    const attachedB = sessions.attach(req('bp_session'), b);
    const pty = ptys[0]!;
    a.full = true;
    b.full = true;
    pty.emit('one');
    await endOfTurn();
    expect(pty.paused).toBe(true);
    a.drain();
    expect(pty.paused).toBe(true); // b is still full
    if (attachedB.ok) attachedB.session.detach(); // b leaves instead of draining
    expect(pty.paused).toBe(false);
    expect(a.text).toBe('one');
  });

  it('counts input as activity, replays to a re-attaching viewer, and sends Exit', () => {
    const { sessions, ptys, counts, activity } = setup();
    const a = new FakeViewer();
    const r = sessions.attach(req('replay_01'), a);
    if (!r.ok) throw new Error(r.reason);
    r.session.input(new TextEncoder().encode('ls\r'));
    expect(ptys[0]!.written).toEqual(['ls\r']);
    expect(activity()).toBe(1);
    ptys[0]!.emit('file1 file2\r\n');
    r.session.detach();
    r.session.input(new TextEncoder().encode('ignored'));
    expect(ptys[0]!.written).toHaveLength(1);

    const b = new FakeViewer();
    sessions.attach(req('replay_01'), b);
    expect(b.frames[0]!.type).toBe(FrameType.Hello);
    expect(JSON.parse(payloadText(b.frames[0]!.payload))).toEqual({ session: 'replay_01', shell: 'sh', replayed: 13 });
    expect(b.text).toBe('file1 file2\r\n');
    ptys[0]!.exit(0);
    expect(b.frames.at(-1)!.type).toBe(FrameType.Exit);
    expect(b.ended).toBe(true);
    expect(sessions.count).toBe(0);
    expect(counts).toEqual([1, 0]);
  });

  it('kills a session after the keep time with nobody attached, unless someone re-attaches', () => {
    jest.useFakeTimers();
    const { sessions, ptys } = setup({ keepMs: 1_000 });
    const r = sessions.attach(req('keep_0001'), new FakeViewer());
    if (!r.ok) throw new Error(r.reason);
    r.session.detach();
    jest.advanceTimersByTime(900);
    const again = sessions.attach(req('keep_0001'), new FakeViewer());
    jest.advanceTimersByTime(5_000);
    expect(ptys[0]!.kill).not.toHaveBeenCalled();
    if (again.ok) again.session.detach();
    jest.advanceTimersByTime(1_000);
    expect(ptys[0]!.kill).toHaveBeenCalled();
    expect(sessions.count).toBe(0);
  });

  it('reports no terminal when the PTY module is missing', () => {
    const sessions = new TerminalSessions({ pty: null, keepMs: 1, env: {}, cwd: '/', searchPath: [], logger: pino({ level: 'silent' }), onCountChange: () => undefined, onActivity: () => undefined });
    expect(sessions.available).toBe(false);
    expect(sessions.attach(req('nopty_001'), new FakeViewer()).ok).toBe(false);
  });
});

describe('TerminalSessions.killAll with real shells', () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  async function realSessions() {
    const pty = (await import('@lydell/node-pty')) as unknown as PtyModule;
    const pids: number[] = [];
    const spawn = pty.spawn.bind(pty);
    const counting = { ...pty, spawn: (...args: Parameters<PtyModule['spawn']>) => {
      const p = spawn(...args);
      pids.push(p.pid);
      return p;
    } } as PtyModule;
    const sessions = new TerminalSessions({
      pty: counting,
      keepMs: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), TERM: 'xterm-256color' },
      cwd: '/',
      searchPath: shellSearchPath(process.env.PATH),
      logger: pino({ level: 'silent' }),
      onCountChange: () => undefined,
      onActivity: () => undefined,
    });
    return { sessions, pids };
  }

  it('resolves only once every shell has exited', async () => {
    const { sessions, pids } = await realSessions();
    expect(sessions.attach(req('real0001'), new FakeViewer()).ok).toBe(true);
    expect(sessions.attach(req('real0002'), new FakeViewer()).ok).toBe(true);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    await sessions.killAll();
    expect(pids.filter(alive)).toEqual([]);
  });

  it('kills a shell that ignores SIGHUP once the grace has passed', async () => {
    const { sessions, pids } = await realSessions();
    const viewer = new FakeViewer();
    const attached = sessions.attach(req('stubborn'), viewer);
    if (!attached.ok) throw new Error(attached.reason);
    attached.session.input(Buffer.from("trap '' HUP; echo ready-$((40+2))\n"));
    const deadline = Date.now() + 10_000;
    while (!viewer.text.includes('ready-42')) {
      if (Date.now() > deadline) throw new Error(`the shell never got ready: ${JSON.stringify(viewer.text)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const started = Date.now();
    await sessions.killAll(300);
    expect(pids.filter(alive)).toEqual([]);
    // it took the SIGKILL, after the grace
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
