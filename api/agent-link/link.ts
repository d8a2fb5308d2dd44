/**
 * One agent's live link, on the server's side: the WebSocket it dialled, HTTP/2 over it with the
 * server as the client, the agent's state stream, and the heartbeat that notices a dead link. Or,
 * when the agent asked for it, HTTP/2 straight on the upgraded socket (link/raw-link.ts).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  AgentRoute,
  DEAD_AFTER_MS,
  HEARTBEAT_MS,
  LINK_H2_SETTINGS,
  LINK_SESSION_MEMORY_MB,
  LINK_SESSION_WINDOW,
  LinkClose,
  MAX_STATE_LINE,
  type AgentStateReport,
  type SshConfig,
} from '../../link/protocol';
import { decodeLinkClose, encodeLinkClose } from '../../link/raw-link';
import { webSocketCarrier } from '../../link/ws-carrier';
import { agentStateReportSchema } from '../../link/schemas';
import { LinkStreams } from './link-streams';

/** How long the agent has to take an SSH config. */
const SSH_CONFIG_TIMEOUT_MS = 10_000;

export type { TerminalRequest } from './link-streams';

/** Heartbeat timings (tests shorten them; see link/protocol.ts for why these defaults). */
export interface LinkTimings {
  heartbeatMs: number;
  deadAfterMs: number;
}

export const DEFAULT_LINK_TIMINGS: LinkTimings = { heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS };

export interface AgentLinkEvents {
  /** a valid state report arrived */
  onReport(link: AgentLink, report: AgentStateReport): void;
  /** the heartbeat ticked (the link answered within DEAD_AFTER_MS) */
  onHeartbeat(link: AgentLink): void;
  /** the link ended, for whatever reason; called once */
  onClose(link: AgentLink, code: number, reason: string): void;
}

/** What the link runs on: a WebSocket (HTTP/2 inside its messages), or the raw upgraded socket. */
export type LinkConnection = { ws: WebSocket } | { socket: Socket };

export class AgentLink extends LinkStreams {
  readonly connectedAt: number;
  private readonly session: ClientHttp2Session;
  private readonly timer: NodeJS.Timeout;
  private lastHeard: number;
  private heardPing: () => void = () => {};
  private closed = false;
  /** the report the last `space.agent` event was about */
  lastAnnounced: AgentStateReport | null = null;
  private readonly ws: WebSocket | null;
  private readonly socket: Socket | null;
  /** raw mode: the code and reason of the agent's GOAWAY */
  private peerClose: { code: number; reason: string } | null = null;

  constructor(
    readonly spaceId: string,
    readonly tokenHash: string,
    readonly version: string,
    conn: LinkConnection,
    private readonly events: AgentLinkEvents,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly timings: LinkTimings = DEFAULT_LINK_TIMINGS,
  ) {
    super();
    this.connectedAt = now();
    this.lastHeard = now();
    const heard = () => {
      this.lastHeard = this.now();
    };
    let carrier: Duplex;
    if ('ws' in conn) {
      const ws = conn.ws;
      this.ws = ws;
      this.socket = null;
      ws.on('pong', heard);
      ws.on('ping', heard);
      ws.on('message', heard);
      ws.on('close', (code, reason) => this.ended(code, reason.toString() || 'the agent closed the link'));
      ws.on('error', (e) => this.logger.debug({ err: e, spaceId }, 'agent link error'));
      carrier = webSocketCarrier(ws);
    } else {
      this.ws = null;
      const socket = (this.socket = conn.socket);
      socket.setNoDelay(true);
      // the HTTP server's request timeout no longer applies: the heartbeat watches the link
      socket.setTimeout(0);
      socket.on('error', (e) => this.logger.debug({ err: e, spaceId }, 'agent link error'));
      socket.once('close', () => this.ended(this.peerClose?.code ?? 1006, this.peerClose?.reason || 'the agent closed the link'));
      carrier = socket;
    }
    this.session = http2.connect('http://agent.knot', { createConnection: () => carrier, maxSessionMemory: LINK_SESSION_MEMORY_MB, settings: LINK_H2_SETTINGS });
    this.session.once('connect', () => this.session.setLocalWindowSize(LINK_SESSION_WINDOW));
    this.session.on('error', (e) => this.logger.debug({ err: e, spaceId }, 'agent link HTTP/2 session error'));
    if (this.socket) {
      // raw mode: HTTP/2 PINGs are the heartbeat; a GOAWAY carries the agent's close code
      this.session.on('ping', heard);
      this.session.on('goaway', (_errorCode: number, _last: number, data?: Buffer) => {
        this.peerClose = decodeLinkClose(data) ?? { code: LinkClose.GoingAway, reason: 'the agent ended the link' };
        this.socket?.destroy();
      });
    }
    this.heardPing = heard;
    this.session.on('close', () => this.close(LinkClose.GoingAway, 'the link HTTP/2 session ended'));
    this.timer = setInterval(() => this.heartbeat(), timings.heartbeatMs);
    this.timer.unref();
    this.followState();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether the agent answers an HTTP/2 ping within `timeoutMs` (a duplicate dial asks this). */
  alive(timeoutMs: number): Promise<boolean> {
    if (this.closed || this.session.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      try {
        this.session.ping((err) => {
          clearTimeout(t);
          resolve(!err);
        });
      } catch {
        clearTimeout(t);
        resolve(false);
      }
    });
  }

  /** Pushes the SSH server's config (host key, authorized keys); resolves when the agent took it. */
  pushSshConfig(config: SshConfig): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.session.destroyed) return reject(new Error('the link is closed'));
      const stream = this.session.request({ ':method': 'PUT', ':path': AgentRoute.sshConfig, 'content-type': 'application/json' });
      const timer = setTimeout(() => {
        stream.close();
        reject(new Error('the agent did not answer the SSH config in time'));
      }, SSH_CONFIG_TIMEOUT_MS);
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text = (text + chunk).slice(0, 1000)));
      stream.on('response', (headers) => {
        const status = Number(headers[':status']);
        stream.on('end', () => {
          clearTimeout(timer);
          if (status === 204 || status === 200) resolve();
          else reject(new Error(`the agent refused the SSH config (${status}${text ? `: ${text.trim()}` : ''})`));
        });
      });
      stream.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      stream.end(JSON.stringify(config));
    });
  }

  protected request(headers: http2.OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions): ClientHttp2Stream {
    return this.session.request(headers, options);
  }

  /** A stream another API replica opened for this space, passed on as it came (replica-serve.ts). */
  forward(headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): ClientHttp2Stream {
    return this.session.request(headers, options);
  }

  /** Whether the link runs HTTP/2 on the raw socket (link/raw-link.ts) rather than in WebSocket messages. */
  get raw(): boolean {
    return this.socket !== null;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    if (this.ws) {
      const ws = this.ws;
      try {
        ws.close(code, reason.slice(0, 120));
      } catch {
        ws.terminate();
      }
      // a peer that never answers the close handshake must not hold the link open
      setTimeout(() => ws.terminate(), 2000).unref();
    } else {
      const socket = this.socket!;
      try {
        // the agent reads the code from the GOAWAY and closes; the socket goes regardless shortly
        this.session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0, encodeLinkClose(code, reason));
      } catch {
        socket.destroy();
      }
      setTimeout(() => socket.destroy(), 250).unref();
    }
    this.ended(code, reason);
  }

  private terminate(): void {
    if (this.ws) this.ws.terminate();
    else this.socket!.destroy();
  }

  private ended(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // raw mode: the GOAWAY close() queued is written as the session goes (HTTP/2 flushes it on destroy)
    if (!this.session.destroyed) this.session.destroy();
    this.closeSessions("the space's agent disconnected");
    this.events.onClose(this, code, reason);
  }

  private heartbeat(): void {
    if (this.closed) return;
    if (this.now() - this.lastHeard > this.timings.deadAfterMs) {
      this.logger.info({ spaceId: this.spaceId }, 'agent link went quiet; closing it');
      this.terminate();
      this.ended(LinkClose.Dead, 'no heartbeat');
      return;
    }
    if (this.ws) this.ws.ping();
    else {
      try {
        this.session.ping((err) => {
          if (!err) this.heardPing();
        });
      } catch {
        // too many pings unanswered: the silence check above ends the link
      }
    }
    this.events.onHeartbeat(this);
  }

  /** Reads the agent's newline-delimited state reports for as long as the link lives. */
  private followState(): void {
    const stream = this.session.request({ ':method': 'GET', ':path': AgentRoute.state });
    stream.setEncoding('utf8');
    let buffered = '';
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.takeReport(line);
      }
      if (buffered.length > MAX_STATE_LINE) {
        this.logger.warn({ spaceId: this.spaceId }, 'agent state line too long; closing the link');
        this.close(1009, 'state report too large');
      }
    });
    stream.on('error', () => {});
    stream.on('end', () => {
      if (!this.closed) this.close(1011, 'the agent ended its state stream');
    });
  }

  private takeReport(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.logger.warn({ spaceId: this.spaceId }, 'agent sent a state line that is not JSON; ignored');
      return;
    }
    const parsed = agentStateReportSchema.safeParse(value);
    if (!parsed.success) {
      this.logger.warn({ spaceId: this.spaceId, issues: parsed.error.issues.slice(0, 3) }, 'agent sent an invalid state report; ignored');
      return;
    }
    this.lastReport = parsed.data;
    this.events.onReport(this, parsed.data);
  }
}
