/**
 * The agent's link to the server: a WebSocket the agent dials, carrying HTTP/2 in which the agent is
 * the *server* (link/protocol.ts); with a server that offers it, HTTP/2 straight on the upgraded
 * socket instead (link/raw-link.ts, raw-dial.ts). Redials forever with jittered backoff, notices a
 * dead link by its silence, and never logs the token.
 */
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { decodeLinkClose, encodeLinkClose } from '../link/raw-link';
import { dialRaw } from './raw-dial';
import { AGENT_VERSION_HEADER, SPACE_ID_HEADER, DEAD_AFTER_MS, HEARTBEAT_MS, LINK_MAX_MESSAGE, LINK_H2_SETTINGS, LINK_SESSION_MEMORY_MB, LINK_SESSION_WINDOW, LINK_SUBPROTOCOL, LinkClose } from '../link/protocol';
import { webSocketCarrier } from '../link/ws-carrier';
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
  /** false: WebSocket links only (what agents before the raw mode did); default true */
  raw?: boolean;
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

  /** the open connection, whichever kind: what stop() closes */
  let conn: { close(code: number, reason: string): void; terminate(): void; readonly open: boolean } | null = null;
  let session: Http2Session | null = null;
  let attempt = 0;
  let stopped = false;
  let redialTimer: NodeJS.Timeout | null = null;
  let closed: Promise<void> = Promise.resolve();
  /** the server answered the raw offer with a WebSocket link (an older server): WebSockets from now on */
  let rawRefused = opts.raw === false;
  const headers = { authorization: `Bearer ${opts.token}`, [AGENT_VERSION_HEADER]: opts.version, ...(opts.spaceId ? { [SPACE_ID_HEADER]: opts.spaceId } : {}) };

  /** What both kinds share once the carrier is up, and when it goes. */
  const linked = (ping: () => void, terminate: () => void) => {
    let heardAt = Date.now();
    const openedAt = Date.now();
    const heard = () => (heardAt = Date.now());
    logger.info({ url: opts.url }, 'link up');
    const heartbeat = setInterval(() => {
      if (Date.now() - heardAt > (opts.deadAfterMs ?? DEAD_AFTER_MS)) {
        logger.warn('link silent too long; redialling');
        terminate();
        return;
      }
      ping();
    }, opts.heartbeatMs ?? HEARTBEAT_MS);
    heartbeat.unref();
    emit({ state: 'connected' });
    return { heard, openedAt, stopHeartbeat: () => clearInterval(heartbeat) };
  };

  const ended = (openedAt: number | null, code: number, reason: string, resolveClosed: () => void, failure: string | null) => {
    session?.destroy();
    session = null;
    conn = null;
    const wasOpen = openedAt !== null;
    if (wasOpen && Date.now() - openedAt >= BACKOFF_RESET_AFTER_MS) attempt = 0;
    if (wasOpen) emit({ state: 'disconnected', code, reason });
    resolveClosed();
    if (stopped) return;
    const delay = (opts.backoff ?? backoffDelay)(attempt++);
    const what = wasOpen ? describeClose(code, reason) : `could not connect: ${failure ?? reason ?? code}`;
    const level = code === LinkClose.Unauthorized || code === LinkClose.Duplicate ? 'warn' : 'info';
    logger[level]({ code, retryInMs: delay }, `link down: ${what}`);
    redialTimer = setTimeout(dial, delay);
  };

  const serve = (carrier: Parameters<typeof h2.emit>[1], onSession: (s: Http2Session) => void) => {
    // HTTP/2 on the carrier, roles reversed: the server opens streams into the agent
    h2.once('session', (s: Http2Session) => {
      session = s;
      s.setLocalWindowSize(LINK_SESSION_WINDOW);
      s.on('error', (e) => logger.debug({ err: e }, 'link session error'));
      onSession(s);
    });
    h2.emit('connection', carrier);
  };

  const dialSocket = () => {
    let resolveClosed!: () => void;
    closed = new Promise((r) => (resolveClosed = r));
    let up: ReturnType<typeof linked> | null = null;
    let socket: Socket | null = null;
    let peerClose: { code: number; reason: string } | null = null;
    let closing = false;
    const pending = dialRaw(opts.url, headers, 15_000);
    conn = {
      get open() {
        return socket !== null && !socket.destroyed;
      },
      close(code, reason) {
        closing = true;
        if (!socket) return pending.abort();
        try {
          session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 0, encodeLinkClose(code, reason));
        } catch {
          socket.destroy();
        }
        const s = socket;
        setTimeout(() => s.destroy(), 250).unref();
      },
      terminate() {
        if (socket) socket.destroy();
        else pending.abort();
      },
    };
    pending.result.then(
      (r) => {
        if (r.kind === 'websocket') {
          // an older server: it picked the WebSocket subprotocol; dial a WebSocket link at once
          logger.info('the server does not offer the raw link; using a WebSocket link');
          rawRefused = true;
          r.socket.destroy();
          conn = null;
          resolveClosed();
          if (!stopped && !closing) dialWebSocket();
          return;
        }
        socket = r.socket;
        if (stopped || closing) {
          socket.destroy();
          conn = null;
          resolveClosed();
          return;
        }
        socket.setNoDelay(true);
        socket.on('error', (e) => logger.debug({ err: e }, 'link socket error'));
        const s0 = socket;
        serve(socket, (s) => {
          s.on('ping', () => up?.heard());
          s.on('goaway', (_code: number, _last: number, data?: Buffer) => {
            peerClose = decodeLinkClose(data) ?? { code: LinkClose.GoingAway, reason: 'the server ended the link' };
            s0.destroy();
          });
        });
        up = linked(
          () => {
            try {
              session?.ping((err) => {
                if (!err) up?.heard();
              });
            } catch {
              // unanswered pings pile up: the silence check ends the link
            }
          },
          () => s0.destroy(),
        );
        socket.once('close', () => {
          up?.stopHeartbeat();
          ended(up?.openedAt ?? null, peerClose?.code ?? 1006, peerClose?.reason ?? '', resolveClosed, null);
        });
      },
      (e: Error) => {
        conn = null;
        ended(null, 1006, '', resolveClosed, e.message);
      },
    );
  };

  const dialWebSocket = () => {
    let openedAt: number | null = null;
    let up: ReturnType<typeof linked> | null = null;
    let failure: string | null = null;
    const socket = new WebSocket(opts.url, LINK_SUBPROTOCOL, {
      headers,
      maxPayload: LINK_MAX_MESSAGE,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      generateMask: ZERO_MASK,
    });
    conn = {
      // still connecting counts as open: a stop then closes it properly once the handshake ends
      // (the server has already taken the link) instead of cutting it with 1006
      get open() {
        return socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING;
      },
      close: (code, reason) => {
        if (socket.readyState === WebSocket.CONNECTING) socket.once('open', () => socket.close(code, reason));
        else socket.close(code, reason);
      },
      terminate: () => socket.terminate(),
    };
    let resolveClosed!: () => void;
    closed = new Promise((r) => (resolveClosed = r));

    socket.on('open', () => {
      serve(webSocketCarrier(socket), () => {});
      up = linked(
        () => socket.ping(),
        () => socket.terminate(),
      );
      openedAt = up.openedAt;
    });
    socket.on('pong', () => up?.heard());
    socket.on('ping', () => up?.heard());
    socket.on('message', () => up?.heard());
    socket.on('error', (e) => {
      // a refused upgrade ("Unexpected server response: 401") or a network error; 'close' follows
      failure = e.message;
    });
    socket.on('close', (code, reasonBuf) => {
      up?.stopHeartbeat();
      ended(openedAt, code, reasonBuf.toString() || failure || '', resolveClosed, failure);
    });
  };

  const dial = () => {
    redialTimer = null;
    if (stopped) return;
    if (rawRefused) dialWebSocket();
    else dialSocket();
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
      const c = conn;
      if (c) {
        if (c.open) c.close(code, 'agent stopping');
        else c.terminate();
        // the server has a moment to answer the close; then the socket goes regardless
        const force = setTimeout(() => c.terminate(), 1_000);
        await closed;
        clearTimeout(force);
      }
      h2.close();
    },
  };
}
