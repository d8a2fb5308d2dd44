/**
 * The agent's link to the server: a WebSocket the agent dials, carrying HTTP/2 in which the agent is
 * the *server* (link/protocol.ts). Redials forever with jittered backoff, notices a dead link by
 * its silence, and never logs the token.
 */
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import WebSocket, { createWebSocketStream } from 'ws';
import { AGENT_VERSION_HEADER, SPACE_ID_HEADER, DEAD_AFTER_MS, HEARTBEAT_MS, LINK_MAX_MESSAGE, LINK_H2_SETTINGS, LINK_SESSION_MEMORY_MB, LINK_SESSION_WINDOW, LINK_SUBPROTOCOL, LinkClose } from '../link/protocol';
import { ZERO_MASK } from '../link/ws-pipe';
import { BACKOFF_RESET_AFTER_MS, backoffDelay } from './backoff';

export type LinkEvent = { state: 'connected' } | { state: 'disconnected'; code: number; reason: string };

export interface LinkOptions {
  url: string;
  token: string;
  version: string;
  /** KNOT_SPACEID when set: the server refuses the token if it belongs to another space (a misconfigured task) */
  spaceId?: string | null;
  logger: Logger;
  onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
  heartbeatMs?: number;
  deadAfterMs?: number;
  /** the delay before redial `attempt` (tests shorten it) */
  backoff?: (attempt: number) => number;
}

export interface Link {
  onEvent(cb: (e: LinkEvent) => void): () => void;
  /** closes the link with `code` and stops redialling */
  stop(code?: number): Promise<void>;
}

/** Why a link closed, in words for the log. */
export function describeClose(code: number, reason: string): string {
  switch (code) {
    case LinkClose.Unauthorized:
      return 'token refused (revoked or wrong space); retrying';
    case LinkClose.Duplicate:
      return 'another agent holds the link for this space; retrying';
    case LinkClose.Replaced:
      return 'a newer link of this space replaced this one';
    case LinkClose.Dead:
      return 'the server found the link silent for too long';
    case LinkClose.GoingAway:
      return 'the server is going away; redialling';
    case 1006:
      return reason || 'connection lost';
    default:
      return reason || `closed (${code})`;
  }
}

export function startLink(opts: LinkOptions): Link {
  const { logger } = opts;
  const listeners = new Set<(e: LinkEvent) => void>();
  const emit = (e: LinkEvent) => listeners.forEach((l) => l(e));
  const h2 = http2.createServer({ maxSessionMemory: LINK_SESSION_MEMORY_MB, settings: LINK_H2_SETTINGS });
  h2.on('stream', (stream, headers) => {
    stream.on('error', (e) => logger.debug({ err: e }, 'link stream error'));
    opts.onStream(stream, headers);
  });
  h2.on('sessionError', (e) => logger.warn({ err: e }, 'link HTTP/2 session error'));

  let ws: WebSocket | null = null;
  let session: Http2Session | null = null;
  let attempt = 0;
  let stopped = false;
  let redialTimer: NodeJS.Timeout | null = null;
  let closed: Promise<void> = Promise.resolve();

  const dial = () => {
    redialTimer = null;
    if (stopped) return;
    let openedAt: number | null = null;
    let heartbeat: NodeJS.Timeout | null = null;
    let heardAt = Date.now();
    let failure: string | null = null;
    const socket = new WebSocket(opts.url, LINK_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${opts.token}`, [AGENT_VERSION_HEADER]: opts.version, ...(opts.spaceId ? { [SPACE_ID_HEADER]: opts.spaceId } : {}) },
      maxPayload: LINK_MAX_MESSAGE,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      generateMask: ZERO_MASK,
    });
    ws = socket;
    let resolveClosed!: () => void;
    closed = new Promise((r) => (resolveClosed = r));
    const heard = () => (heardAt = Date.now());

    socket.on('open', () => {
      openedAt = Date.now();
      heard();
      logger.info({ url: opts.url }, 'link up');
      // HTTP/2 over the WebSocket, roles reversed: the server opens streams into the agent
      h2.once('session', (s: Http2Session) => {
        session = s;
        s.setLocalWindowSize(LINK_SESSION_WINDOW);
        s.on('error', (e) => logger.debug({ err: e }, 'link session error'));
      });
      h2.emit('connection', createWebSocketStream(socket));
      heartbeat = setInterval(() => {
        if (Date.now() - heardAt > (opts.deadAfterMs ?? DEAD_AFTER_MS)) {
          logger.warn('link silent too long; redialling');
          socket.terminate();
          return;
        }
        socket.ping();
      }, opts.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      emit({ state: 'connected' });
    });
    socket.on('pong', heard);
    socket.on('ping', heard);
    socket.on('message', heard);
    socket.on('error', (e) => {
      // a refused upgrade ("Unexpected server response: 401") or a network error; 'close' follows
      failure = e.message;
    });
    socket.on('close', (code, reasonBuf) => {
      if (heartbeat) clearInterval(heartbeat);
      session?.destroy();
      session = null;
      if (ws === socket) ws = null;
      const reason = reasonBuf.toString() || failure || '';
      const wasOpen = openedAt !== null;
      if (wasOpen && Date.now() - openedAt! >= BACKOFF_RESET_AFTER_MS) attempt = 0;
      if (wasOpen) emit({ state: 'disconnected', code, reason });
      resolveClosed();
      if (stopped) return;
      const delay = (opts.backoff ?? backoffDelay)(attempt++);
      const what = wasOpen ? describeClose(code, reason) : `could not connect: ${failure ?? reason ?? code}`;
      const level = code === LinkClose.Unauthorized || code === LinkClose.Duplicate ? 'warn' : 'info';
      logger[level]({ code, retryInMs: delay }, `link down: ${what}`);
      redialTimer = setTimeout(dial, delay);
    });
  };
  dial();

  return {
    onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    async stop(code = LinkClose.GoingAway) {
      stopped = true;
      if (redialTimer) clearTimeout(redialTimer);
      const socket = ws;
      if (socket) {
        if (socket.readyState === WebSocket.OPEN) socket.close(code, 'agent stopping');
        else socket.terminate();
        // the server has a moment to answer the close; then the socket goes regardless
        const force = setTimeout(() => socket.terminate(), 1_000);
        await closed;
        clearTimeout(force);
      }
      h2.close();
    },
  };
}
