/**
 * The caller's side of the replica relay (replica-protocol.ts): when a space's agent is linked to
 * another replica, the link record names it (`holder`), and the streams of a session this replica
 * has already checked go there, over one HTTP/2 session per holder, dialled on first use.
 *
 * A holder that goes away (killed, restarted) ends the session: every terminal and SSH connection
 * riding it closes with 4503, as when a local link ends, and its client reconnects — by then the
 * agent has relinked (to this replica or another) and the record says where.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import WebSocket from 'ws';
import type { AgentStateReport } from '../../link/protocol';
import { webSocketCarrier } from '../../link/ws-carrier';
import { LINK_H2_SETTINGS, LINK_MAX_MESSAGE, LINK_SESSION_MEMORY_MB, LINK_SESSION_WINDOW } from '../../link/protocol';
import type { AgentState } from '../../store/model';
import type { Services } from '../context';
import { LinkStreams } from './link-streams';
import { REPLICA_SPACE_HEADER, REPLICA_SUBPROTOCOL, replicaLinkUrl } from './replica-protocol';

/** A space's link held by another replica, as the bridges use a local one. */
export class RemoteLink extends LinkStreams {
  constructor(
    readonly spaceId: string,
    readonly holder: string,
    private readonly peer: Peer,
  ) {
    super();
  }

  get isClosed(): boolean {
    return this.peer.closed;
  }

  protected request(headers: http2.OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions): ClientHttp2Stream {
    return this.peer.session.request({ ...headers, [REPLICA_SPACE_HEADER]: this.spaceId }, options);
  }

  /** the session to the holder ended: what rode it ends too */
  ended(): void {
    this.closeSessions("the connection to the server holding the space's agent link ended");
  }
}

class Peer {
  readonly session: ClientHttp2Session;
  readonly links = new Map<string, RemoteLink>();
  closed = false;

  constructor(url: string, credential: string, onEnd: () => void, logger: Services['logger']) {
    const ws = new WebSocket(replicaLinkUrl(url), REPLICA_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${credential}` },
      perMessageDeflate: false,
      maxPayload: LINK_MAX_MESSAGE,
      handshakeTimeout: 5000,
    });
    const duplex = webSocketCarrier(ws);
    ws.on('error', (e) => logger.debug({ err: e, holder: url }, 'replica relay connection error'));
    this.session = http2.connect('http://replica.knot', { createConnection: () => duplex, maxSessionMemory: LINK_SESSION_MEMORY_MB, settings: LINK_H2_SETTINGS });
    this.session.once('connect', () => this.session.setLocalWindowSize(LINK_SESSION_WINDOW));
    this.session.on('error', (e) => logger.debug({ err: e, holder: url }, 'replica relay session error'));
    const end = () => {
      if (this.closed) return;
      this.closed = true;
      onEnd();
      for (const link of this.links.values()) link.ended();
      this.links.clear();
      if (!this.session.destroyed) this.session.destroy();
      ws.terminate();
    };
    this.session.on('close', end);
    ws.on('close', end);
  }
}

export class ReplicaPeers {
  private readonly peers = new Map<string, Peer>();

  constructor(
    private readonly svc: Services,
    /** this replica's advertised URL: a record naming it is not another's */
    private readonly selfUrl: string,
    private readonly credential: string | null,
  ) {}

  /** The space's link on another replica, per its link record; undefined when none is known or relaying is off. */
  async linkTo(spaceId: string): Promise<RemoteLink | undefined> {
    if (!this.credential) return undefined;
    const record = await this.svc.agentState.get(spaceId);
    if (!record?.connected || !record.holder || record.holder === this.selfUrl) return undefined;
    const peer = this.peer(record.holder);
    let link = peer.links.get(spaceId);
    if (!link) {
      link = new RemoteLink(spaceId, record.holder, peer);
      peer.links.set(spaceId, link);
    }
    link.lastReport = reportOf(record);
    return link;
  }

  private peer(url: string): Peer {
    const known = this.peers.get(url);
    if (known && !known.closed) return known;
    const peer: Peer = new Peer(url, this.credential!, () => {
      if (this.peers.get(url) === peer) this.peers.delete(url);
    }, this.svc.logger);
    this.peers.set(url, peer);
    return peer;
  }

  close(): void {
    for (const peer of this.peers.values()) peer.session.destroy();
    this.peers.clear();
  }
}

/** What the bridges read of a remote link's report: the services (and so the ports) it offers. */
function reportOf(record: AgentState): AgentStateReport {
  return { version: record.version ?? 'unknown', services: record.services, sessions: record.sessions, ...(record.lastActivity !== null ? { lastActivity: record.lastActivity } : {}) } as AgentStateReport;
}
