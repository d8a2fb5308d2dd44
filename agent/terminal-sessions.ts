/**
 * Reconnecting terminal sessions: a PTY per session id that outlives the stream that opened it, so
 * a dropped link or a closed tab comes back to the same shell. Each session keeps its last output
 * in a ring (replayed to whoever attaches), fans live output out to every attached viewer, and is
 * killed only when nobody has looked at it for `keepMs`, or when its shell exits.
 */
import type { IPty } from '@lydell/node-pty';
import type { Logger } from 'pino';
import { FrameType, MAX_DATA_PAYLOAD, dataFrames, encodeStreamFrame, jsonPayload, textPayload, type TerminalSize } from '../link/frames';
import type { ShellName } from '../link/protocol';
import { RingBuffer } from './ring-buffer';
import { resolveShell, type ResolvedShell } from './shells';

export type PtyModule = typeof import('@lydell/node-pty');

/** recent output kept per session for a re-attaching viewer */
export const RING_BYTES = 64 * 1024;
export const MAX_TERMINAL_SESSIONS = 32;
/** How long a stopping agent waits for its shells after SIGHUP, and again after SIGKILL. */
const KILL_GRACE_MS = 2_000;

/** Where a session's frames go: an HTTP/2 stream in practice (a Writable with backpressure). */
export interface Viewer {
  write(chunk: Uint8Array): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): unknown;
  readonly destroyed: boolean;
}

export interface AttachRequest {
  id: string;
  shell: ShellName;
  cols: number;
  rows: number;
}

/** What a viewer's stream does with the session it attached to. */
export interface AttachedSession {
  /** keystrokes from the viewer */
  input(bytes: Uint8Array): void;
  resize(size: TerminalSize): void;
  /** the viewer left (its stream closed); idempotent */
  detach(): void;
}

export type AttachResult = { ok: true; session: AttachedSession } | { ok: false; reason: string };

export interface TerminalSessionsOptions {
  /** the PTY module, null when it failed to load (then no terminal) */
  pty: PtyModule | null;
  keepMs: number;
  maxSessions?: number;
  /** the shell's environment (already without the agent token) */
  env: Record<string, string>;
  cwd: string;
  searchPath: string[];
  logger: Logger;
  onCountChange(count: number): void;
  onActivity(): void;
}

interface Session {
  id: string;
  shell: ResolvedShell;
  pty: IPty;
  ring: RingBuffer;
  viewers: Set<Viewer>;
  /** viewers whose stream is full: the PTY stays paused while any is */
  blocked: Set<Viewer>;
  keepTimer: NodeJS.Timeout | null;
  exited: boolean;
  /** output read in this turn of the event loop, sent as one frame when the turn ends */
  pending: Buffer[];
  pendingBytes: number;
}

export class TerminalSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: TerminalSessionsOptions) {}

  get count(): number {
    return this.sessions.size;
  }

  /** The PTY module loaded and sh exists. */
  get available(): boolean {
    return this.opts.pty !== null && resolveShell('sh', this.opts.searchPath) !== null;
  }

  attach(req: AttachRequest, viewer: Viewer): AttachResult {
    let s = this.sessions.get(req.id);
    if (s) {
      this.cancelKeep(s);
      this.resizePty(s, req);
    } else {
      const created = this.create(req);
      if (!created.ok) return created;
      s = created.session;
    }
    const session = s;
    // output still waiting for the end of this turn goes to the current viewers; the replay has it
    this.flush(session);
    session.viewers.add(viewer);
    const replay = session.ring.snapshot();
    this.send(session, viewer, [encodeStreamFrame(FrameType.Hello, jsonPayload({ session: session.id, shell: session.shell.name, replayed: replay.length }))]);
    if (session.shell.notice) this.send(session, viewer, [encodeStreamFrame(FrameType.Notice, textPayload(session.shell.notice))]);
    if (replay.length) this.send(session, viewer, dataFrames(replay));
    let attached = true;
    return {
      ok: true,
      session: {
        input: (bytes) => {
          if (!attached || session.exited) return;
          // node-pty's typings say string, but it writes Buffers to the PTY as they are (no re-encoding)
          session.pty.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as string);
          this.opts.onActivity();
        },
        resize: (size) => {
          if (attached) this.resizePty(session, size);
        },
        detach: () => {
          if (!attached) return;
          attached = false;
          this.detach(session, viewer);
        },
      },
    };
  }

  /**
   * Ends every session (the agent is stopping) and resolves once their shells have exited: a
   * SIGHUP first (a shell saves its history as it goes), SIGKILL for any still there after
   * `graceMs`. A stop that returned at once left shells writing in the home the caller was about to
   * remove, and orphans when the agent's process exited right after.
   */
  async killAll(graceMs = KILL_GRACE_MS): Promise<void> {
    const live = [...this.sessions.values()].filter((s) => !s.exited);
    const exits = live.map((s) => new Promise<void>((resolve) => {
      const sub = s.pty.onExit(() => {
        sub.dispose();
        resolve();
      });
    }));
    for (const s of live) this.kill(s, 'agent stopping');
    const all = Promise.all(exits).then(() => true);
    const within = (ms: number) => Promise.race([all, new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await within(graceMs)) return;
    for (const s of live) {
      if (s.exited) continue;
      try {
        s.pty.kill('SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await within(KILL_GRACE_MS);
  }

  private create(req: AttachRequest): { ok: true; session: Session } | { ok: false; reason: string } {
    const { pty } = this.opts;
    if (!pty) return { ok: false, reason: 'the terminal is not available in this space (the PTY module did not load)' };
    if (this.sessions.size >= (this.opts.maxSessions ?? MAX_TERMINAL_SESSIONS)) return { ok: false, reason: 'too many terminal sessions' };
    const shell = resolveShell(req.shell, this.opts.searchPath);
    if (!shell) return { ok: false, reason: 'no shell found in this space (not even sh)' };
    let proc: IPty;
    try {
      // encoding null: output arrives as Buffers, so bytes are never re-decoded on the way through
      proc = pty.spawn(shell.path, ['-l'], { name: 'xterm-256color', cols: req.cols, rows: req.rows, cwd: this.opts.cwd, env: this.opts.env, encoding: null });
    } catch (e) {
      this.opts.logger.error({ err: e, shell: shell.path }, 'could not start the shell');
      return { ok: false, reason: `could not start ${shell.name}: ${(e as Error).message}` };
    }
    const s: Session = { id: req.id, shell, pty: proc, ring: new RingBuffer(RING_BYTES), viewers: new Set(), blocked: new Set(), keepTimer: null, exited: false, pending: [], pendingBytes: 0 };
    proc.onData((data) => this.output(s, data as unknown as Buffer));
    proc.onExit(({ exitCode, signal }) => this.exited(s, exitCode, signal ?? null));
    this.sessions.set(s.id, s);
    this.opts.logger.info({ session: s.id, shell: shell.name, pid: proc.pid }, 'terminal session started');
    this.opts.onCountChange(this.sessions.size);
    return { ok: true, session: s };
  }

  /**
   * The PTY hands output over in reads of a few KiB; under bulk output (`cat` of a big file) each
   * would be its own frame, HTTP/2 DATA frame and WebSocket message on both hops. Reads in one turn
   * of the event loop go out together (at most one frame's worth at once), which costs a keystroke's
   * echo nothing: it is flushed as soon as the turn ends.
   */
  private output(s: Session, data: Buffer): void {
    s.ring.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (s.viewers.size === 0) return;
    if (s.pending.length === 0) setImmediate(() => this.flush(s));
    s.pending.push(data);
    s.pendingBytes += data.length;
    if (s.pendingBytes >= MAX_DATA_PAYLOAD) this.flush(s);
  }

  private flush(s: Session): void {
    if (s.pending.length === 0) return;
    const bytes = s.pending.length === 1 ? s.pending[0]! : Buffer.concat(s.pending, s.pendingBytes);
    s.pending = [];
    s.pendingBytes = 0;
    const frames = dataFrames(bytes);
    for (const v of s.viewers) this.send(s, v, frames);
  }

  private exited(s: Session, code: number | null, signal: number | null): void {
    s.exited = true;
    this.cancelKeep(s);
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    this.flush(s);
    const exit = encodeStreamFrame(FrameType.Exit, jsonPayload({ code, signal }));
    for (const v of s.viewers) {
      if (v.destroyed) continue;
      v.write(exit);
      v.end();
    }
    s.viewers.clear();
    s.blocked.clear();
    this.opts.logger.info({ session: s.id, code, signal }, 'terminal session ended');
    this.opts.onCountChange(this.sessions.size);
  }

  private send(s: Session, viewer: Viewer, frames: Uint8Array[]): void {
    if (viewer.destroyed) return;
    let full = false;
    for (const f of frames) full = !viewer.write(f) || full;
    if (full) this.block(s, viewer);
  }

  /** A viewer's stream is full: hold the shell's output (the PTY) until it drains. */
  private block(s: Session, viewer: Viewer): void {
    if (s.blocked.has(viewer)) return;
    s.blocked.add(viewer);
    if (s.blocked.size === 1 && !s.exited) s.pty.pause();
    viewer.once('drain', () => this.unblock(s, viewer));
  }

  private unblock(s: Session, viewer: Viewer): void {
    if (!s.blocked.delete(viewer)) return;
    if (s.blocked.size === 0 && !s.exited) s.pty.resume();
  }

  private detach(s: Session, viewer: Viewer): void {
    s.viewers.delete(viewer);
    this.unblock(s, viewer);
    if (s.viewers.size > 0 || s.exited) return;
    this.cancelKeep(s);
    s.keepTimer = setTimeout(() => this.kill(s, 'nobody attached'), this.opts.keepMs);
    s.keepTimer.unref();
  }

  private cancelKeep(s: Session): void {
    if (s.keepTimer) clearTimeout(s.keepTimer);
    s.keepTimer = null;
  }

  private resizePty(s: Session, size: TerminalSize): void {
    if (s.exited) return;
    try {
      s.pty.resize(size.cols, size.rows);
    } catch (e) {
      // the shell may be exiting; its exit ends the session
      this.opts.logger.debug({ err: e, session: s.id }, 'resize failed');
    }
  }

  private kill(s: Session, why: string): void {
    if (s.exited) return;
    this.cancelKeep(s);
    this.opts.logger.info({ session: s.id, why }, 'closing terminal session');
    try {
      s.pty.kill('SIGHUP');
    } catch {
      // already gone: its exit event drops it
    }
  }
}
