/**
 * The terminal WebSocket of a space (`GET /api/v1/spaces/:id/terminal`, upgraded), relayed to a
 * terminal stream on the space's agent link.
 *
 * Who may open one: the space's owner, admins and users it is shared with in the `user` role
 * (others get the same 404 as for the space itself; a viewer 4403), authenticated by a bearer token or the session cookie. A browser always sends Origin on
 * a WebSocket: it must be this server's, so a page on another site cannot ride a signed-in user's
 * cookie (knot's upgrader skips this check; we do not). Every terminal opened is audited.
 *
 * Frames (link/frames.ts): one per WebSocket message from the browser, length-prefixed on the
 * agent's stream. A malformed or oversized message closes this terminal only (4400); the shell
 * stays for a reconnect. Backpressure both ways: a slow browser pauses the agent's stream, a slow
 * agent stream pauses the browser socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClientHttp2Stream } from 'node:http2';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ErrorType, KnotError } from '../../core/errors';
import { FrameError, FrameType, StreamFrameDecoder, decodeMessage, encodeMessage, encodeStreamFrame, MAX_DATA_PAYLOAD, textPayload } from '../../link/frames';
import { SHELLS, TERMINAL_SESSION_ID } from '../../link/protocol';
import type { Services } from '../context';
import type { LinkRegistry } from './registry';
import type { SessionHandle } from './space-sessions';
import { queryOf } from './upgrade-http';
import { auditSpaceAccess, refuseKnownCaller, runningSpaceLink, upgradeCaller } from './space-access';

/** Close codes a terminal client acts on (see client/terminal.ts). */
export const TerminalClose = {
  Ended: 1000,
  BadFrame: 4400,
  NotFound: 4404,
  NotRunning: 4409,
  AgentGone: 4503,
} as const;

/** Above this many bytes waiting for the browser, stop reading the agent's stream. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export const TERMINAL_ROUTE = /^\/api\/v1\/spaces\/([^/]+)\/terminal$/;

interface TerminalParams {
  session: string;
  shell: string | null;
  cols: number;
  rows: number;
}

function fieldError(field: string, message: string): KnotError {
  return new KnotError(ErrorType.Validation, `${field}: ${message}`, { errors: [{ path: `query.${field}`, message }] });
}

function paramsOf(req: IncomingMessage): TerminalParams {
  const q = queryOf(req);
  const session = q.get('session') ?? '';
  if (!TERMINAL_SESSION_ID.test(session)) throw fieldError('session', 'required: 8-64 characters of A-Z a-z 0-9 _ -');
  const shell = q.get('shell');
  if (shell !== null && !(SHELLS as readonly string[]).includes(shell)) throw fieldError('shell', `one of ${SHELLS.join(', ')}`);
  const size = (name: string, fallback: number): number => {
    const v = q.get(name);
    if (v === null) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw fieldError(name, 'a whole number from 1 to 1000');
    return n;
  };
  return { session, shell, cols: size('cols', 80), rows: size('rows', 24) };
}

export class TerminalBridge {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 + MAX_DATA_PAYLOAD, perMessageDeflate: false });

  constructor(
    private readonly svc: Services,
    private readonly links: LinkRegistry,
  ) {}

  async accept(req: IncomingMessage, socket: Duplex, head: Buffer, spaceRef: string): Promise<void> {
    const svc = this.svc;
    const actor = await upgradeCaller(req, socket, svc, 'terminal');
    if (!actor) return;
    try {
      const params = paramsOf(req);
      const { space, link } = await runningSpaceLink(svc, this.links, actor, spaceRef, 'open a terminal');
      const shell = params.shell ?? (SHELLS as readonly string[]).find((s) => s === space.shell) ?? 'bash';
      await auditSpaceAccess(svc, actor, 'terminal.open', space.id, 'ok', { session: params.session, shell });
      this.wss.handleUpgrade(req, socket, head, (ws) => this.relay(ws, link.openTerminal({ ...params, shell }), link.terminals, (h) => this.links.sessions.track(space.id, actor, h)));
    } catch (e) {
      await refuseKnownCaller(this.wss, req, socket, head, e, svc, { actor, action: 'terminal.open', spaceRef });
    }
  }

  private relay(ws: WebSocket, stream: ClientHttp2Stream, onLink: Set<SessionHandle>, track: (h: SessionHandle) => () => void): void {
    const metrics = this.svc.metrics.terminalStreams;
    metrics.inc();
    let done = false;
    const handle = {
      close: (code: number, reason: string) => {
        if (done) return;
        done = true;
        onLink.delete(handle);
        untrack();
        metrics.dec();
        if (!stream.destroyed) stream.close();
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
      },
    };
    onLink.add(handle);
    const untrack = track(handle);

    const decoder = new StreamFrameDecoder();
    let sawExit = false;
    let paused = false;
    const drained = () => {
      if (paused && ws.bufferedAmount < LOW_WATER) {
        paused = false;
        stream.resume();
      }
    };
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status !== 200) handle.close(TerminalClose.AgentGone, `the agent refused the terminal (${status})`);
    });
    stream.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.svc.logger.warn({ err: e }, 'agent sent a malformed terminal frame');
        handle.close(TerminalClose.AgentGone, 'the agent sent a malformed frame');
        return;
      }
      for (const f of frames) {
        if (f.type === FrameType.Exit) sawExit = true;
        ws.send(encodeMessage(f.type, f.payload), drained);
      }
      if (ws.bufferedAmount > HIGH_WATER && !paused) {
        paused = true;
        stream.pause();
      }
    });
    stream.on('end', () => handle.close(sawExit ? TerminalClose.Ended : TerminalClose.AgentGone, sawExit ? 'the shell ended' : 'the agent ended the terminal'));
    stream.on('error', () => handle.close(TerminalClose.AgentGone, "the space's agent disconnected"));
    stream.on('drain', () => ws.resume());

    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        if (!isBinary) throw new FrameError('send binary frames');
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        const frame = decodeMessage(bytes);
        if (frame.type !== FrameType.Data && frame.type !== FrameType.Resize) throw new FrameError(`frame type ${frame.type} is not sent to a terminal`);
        if (!stream.write(encodeStreamFrame(frame.type, frame.payload))) ws.pause();
      } catch (e) {
        const reason = e instanceof FrameError ? e.message : 'bad frame';
        if (ws.readyState === ws.OPEN) ws.send(encodeMessage(FrameType.Error, textPayload(reason)));
        handle.close(TerminalClose.BadFrame, reason);
      }
    });
    ws.on('close', () => handle.close(TerminalClose.Ended, 'closed'));
    ws.on('error', () => handle.close(TerminalClose.Ended, 'socket error'));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
