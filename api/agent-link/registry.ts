/**
 * The live agent links this API process holds, one per space, and what the rest of knot learns
 * of them: the link record in the agent-state store (refreshed every heartbeat, so another
 * replica, the sweeps and a restarted process read it) and `space.agent` events when the status
 * a face shows changes (connected, disconnected, services, sessions).
 *
 * Who may link: the agent's bearer token, looked up by hash; it names the one space it is valid
 * for. The token is checked again every heartbeat, so a stop (which revokes it) ends the link.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { agentStatus, type AgentServices } from '../../core/agent-status';
import { hashToken } from '../../core/crypto';
import { ErrorType, KnotError } from '../../core/errors';
import { AGENT_VERSION_HEADER, SPACE_ID_HEADER, LINK_MAX_MESSAGE, LINK_SUBPROTOCOL, LinkClose, type AgentStateReport } from '../../link/protocol';
import { bearerToken, rateLimited } from '../auth';
import { AGENT_TOKEN_PREFIX_LENGTH } from '../agent-routes';
import type { Services } from '../context';
import { LINK_SUBPROTOCOL_H2, offeredSubprotocols, webSocketAccept } from '../../link/raw-link';
import { AgentLink, DEFAULT_LINK_TIMINGS, type LinkConnection, type LinkTimings } from './link';
import type { LinkStreams } from './link-streams';
import { ReplicaPeers } from './replica-peers';
import { SpaceSessions } from './space-sessions';
import { sshConfigOf } from './ssh-config';
import { peerAddress, refuseUpgrade } from './upgrade-http';

/** How long a dialling agent waits while we ask the current link whether it still answers. */
const DUPLICATE_PROBE_MS = 3000;

const VERSION = /^[A-Za-z0-9.+_-]{1,64}$/;

function unauthorized(): KnotError {
  // one answer for a missing, malformed, unknown, revoked or other-space token: nothing to probe
  return new KnotError(ErrorType.Unauthorized, 'the agent token is not valid (unknown, revoked, or for another space)');
}

function sameServices(a: AgentServices | undefined, b: AgentServices | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}

export class LinkRegistry {
  private readonly links = new Map<string, AgentLink>();
  /** the owner of each linked space, whose SSH keys its agent gets */
  private readonly owners = new Map<string, string>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: LINK_MAX_MESSAGE,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
  });
  /** who holds each open session into each space (closed when their access is revoked) */
  readonly sessions = new SpaceSessions();
  /** told of each space whose phase or access changed (a stop, a delete, a share revoked, a transfer): port-grants.ts forgets it */
  readonly accessWatchers = new Set<(spaceId: string) => void>();
  private closing = false;
  private phaseWatch: Promise<{ unsubscribe: () => void }> | null = null;

  /** the links other replicas hold, reached through them (replica-peers.ts) */
  private readonly peers: ReplicaPeers;

  constructor(
    private readonly svc: Services,
    private readonly timings: LinkTimings = DEFAULT_LINK_TIMINGS,
    /** where other replicas reach this one (`server.advertise_url`): written into each link record */
    readonly selfUrl = '',
    credential: string | null = null,
  ) {
    this.peers = new ReplicaPeers(svc, selfUrl, credential);
  }

  /** The link this process holds for the space. */
  get(spaceId: string): AgentLink | undefined {
    const link = this.links.get(spaceId);
    return link && !link.isClosed ? link : undefined;
  }

  /** The space's link, held here or by another replica (its streams then go through that one). */
  async locate(spaceId: string): Promise<LinkStreams | undefined> {
    return this.get(spaceId) ?? (await this.peers.linkTo(spaceId));
  }

  get size(): number {
    return this.links.size;
  }

  /** An agent dials `LINK_PATH`: authenticate, settle a duplicate, upgrade, start the link. */
  async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const svc = this.svc;
    const ip = peerAddress(req);
    try {
      if (this.closing) throw new KnotError(ErrorType.Unavailable, 'the server is shutting down; dial again');
      // browsers never dial the link: a page holding a token must not act as an agent
      if (req.headers.origin !== undefined) throw new KnotError(ErrorType.Forbidden, 'agent links are not opened from web pages');
      const token = bearerToken(req as Parameters<typeof bearerToken>[0]);
      const fail = (): never => {
        const wait = svc.limiter.failed(ip, token ? token.slice(0, AGENT_TOKEN_PREFIX_LENGTH) : null);
        svc.logger.warn({ ip, limited: wait > 0 }, 'agent link refused: bad token');
        if (wait > 0) throw rateLimited(wait);
        throw unauthorized();
      };
      if (!token) return fail();
      const tokenHash = hashToken(token);
      const record = await svc.store.agentTokens.findByHash(tokenHash);
      if (!record) return fail();
      const space = await svc.store.spaces.get(record.spaceId);
      if (!space || space.deletedAt) return fail();
      const claimed = req.headers[SPACE_ID_HEADER];
      if (claimed !== undefined && claimed !== space.id) return fail();
      const versionHeader = req.headers[AGENT_VERSION_HEADER];
      const version = typeof versionHeader === 'string' && VERSION.test(versionHeader) ? versionHeader : 'unknown';

      const current = this.get(space.id);
      if (current) {
        if (await current.alive(DUPLICATE_PROBE_MS)) {
          throw new KnotError(ErrorType.Conflict, "another agent holds this space's link and still answers");
        }
        current.close(LinkClose.Replaced, 'replaced by a new link');
      }
      const key = req.headers['sec-websocket-key'];
      if (offeredSubprotocols(req.headers['sec-websocket-protocol']).includes(LINK_SUBPROTOCOL_H2) && typeof key === 'string' && /^[+/0-9A-Za-z]{22}==$/.test(key) && socket instanceof Socket) {
        // HTTP/2 straight on this socket from the next byte (link/raw-link.ts)
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(key)}\r\nSec-WebSocket-Protocol: ${LINK_SUBPROTOCOL_H2}\r\n\r\n`);
        if (head.length > 0) socket.unshift(head);
        this.start(space.id, space.ownerId, tokenHash, version, { socket });
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.start(space.id, space.ownerId, tokenHash, version, { ws }));
    } catch (e) {
      refuseUpgrade(socket, req, e, svc, e instanceof KnotError && e.type === ErrorType.Unauthorized ? { 'WWW-Authenticate': 'Bearer realm="knot-agent"' } : {});
    }
  }

  private start(spaceId: string, ownerId: string, tokenHash: string, version: string, conn: LinkConnection): void {
    const logger = this.svc.logger.child({ part: 'agent-link', spaceId });
    const link = new AgentLink(
      spaceId,
      tokenHash,
      version,
      conn,
      {
        onReport: (l, report) => void this.reported(l, report),
        onHeartbeat: (l) => void this.heartbeat(l),
        onClose: (l, code, reason) => void this.closed(l, code, reason),
      },
      logger,
      this.svc.now,
      this.timings,
    );
    this.links.set(spaceId, link);
    this.owners.set(spaceId, ownerId);
    this.watchPhases();
    logger.info({ version, mode: link.raw ? 'h2' : 'websocket' }, 'agent linked');
    this.svc.metrics.agentLinks.set(this.links.size);
    void this.pushSsh(link);
  }

  /** Gives a linked agent its SSH host key and the owner's keys (failures are logged: SSH waits for the next push). */
  private async pushSsh(link: AgentLink): Promise<void> {
    const ownerId = this.owners.get(link.spaceId);
    if (!ownerId || link.isClosed) return;
    try {
      const config = await sshConfigOf(this.svc, link.spaceId, ownerId);
      if (!config) {
        this.svc.logger.warn({ spaceId: link.spaceId }, 'no SSH in spaces: server.encrypt is not set, so there is no host key to give agents');
        return;
      }
      await link.pushSshConfig(config);
      this.svc.logger.debug({ spaceId: link.spaceId, keys: config.authorizedKeys.length }, 'SSH config pushed');
    } catch (e) {
      if (!link.isClosed) this.svc.logger.warn({ err: e, spaceId: link.spaceId }, 'could not push the SSH config to the agent');
    }
  }

  /** A user's SSH keys changed: their spaces and the spaces shared with them linked here get the new list. */
  async sshKeysChanged(userId: string): Promise<void> {
    const shared = new Set((await this.svc.store.shares.listForRecipient(userId, await this.svc.store.groups.namesOfUser(userId))).map((s) => s.spaceId));
    const mine = [...this.owners].filter(([spaceId, owner]) => owner === userId || shared.has(spaceId)).map(([spaceId]) => this.get(spaceId));
    await Promise.all(mine.map((link) => (link ? this.pushSsh(link) : undefined)));
  }

  /**
   * Who may reach the space changed (a share added or revoked, a transfer): its agent gets the SSH
   * keys it should accept now, and the sessions of users who lost access close at once (in this
   * process: see space-sessions.ts). The number of sessions closed.
   */
  async spaceAccessChanged(spaceId: string): Promise<number> {
    this.accessWatchers.forEach((w) => w(spaceId));
    const [space, shares] = await Promise.all([this.svc.store.spaces.get(spaceId), this.svc.store.shares.listOfSpace(spaceId)]);
    const closed = this.sessions.closeLost(spaceId, space, shares);
    if (closed.length > 0) this.svc.logger.info({ spaceId, users: [...new Set(closed)], sessions: closed.length }, 'closed the sessions of users whose access was revoked');
    const link = this.get(spaceId);
    if (link && space) {
      this.owners.set(spaceId, space.ownerId);
      await this.pushSsh(link);
    }
    return closed.length;
  }

  private async record(link: AgentLink, report: AgentStateReport | null): Promise<void> {
    await this.svc.agentState.report(
      link.spaceId,
      {
        services: report?.services ?? {},
        lastActivity: report?.lastActivity ?? null,
        version: report?.version ?? link.version,
        sessions: report?.sessions ?? 0,
        since: link.connectedAt,
        ...(this.selfUrl ? { holder: this.selfUrl } : {}),
      },
      this.svc.now(),
    );
  }

  private async reported(link: AgentLink, report: AgentStateReport): Promise<void> {
    const before = link.lastAnnounced;
    const changed = !before || !sameServices(before.services, report.services) || before.sessions !== report.sessions || before.version !== report.version;
    // a report that only moves lastActivity is written by the next heartbeat (every 20 s): the idle
    // rule counts in minutes, and a store write per keystroke burst of every agent would not scale
    if (!changed) return;
    try {
      await this.record(link, report);
      link.lastAnnounced = report;
      await this.announce(link.spaceId);
    } catch (e) {
      this.svc.logger.warn({ err: e, spaceId: link.spaceId }, 'could not record the agent state');
    }
  }

  private async heartbeat(link: AgentLink): Promise<void> {
    try {
      if (!(await this.heartbeatToken(link))) return;
      await this.record(link, link.lastReport);
    } catch (e) {
      // a store outage must not end links: the next beat tries again
      this.svc.logger.warn({ err: e, spaceId: link.spaceId }, 'agent link heartbeat could not reach the store');
    }
  }

  private async closed(link: AgentLink, code: number, reason: string): Promise<void> {
    this.svc.logger.info({ spaceId: link.spaceId, code, reason }, 'agent link closed');
    if (this.links.get(link.spaceId) !== link) return; // replaced: the new link owns the record
    this.links.delete(link.spaceId);
    this.owners.delete(link.spaceId);
    this.svc.metrics.agentLinks.set(this.links.size);
    if (this.links.size === 0) this.unwatchPhases();
    if (this.closing) return; // the record expires, or the agent dials the next process
    try {
      // only if the record is still ours: the agent may have linked to another replica already
      await this.svc.agentState.disconnected(link.spaceId, this.svc.now(), this.selfUrl || undefined);
      await this.announce(link.spaceId);
    } catch (e) {
      this.svc.logger.warn({ err: e, spaceId: link.spaceId }, 'could not record the agent disconnect');
    }
  }

  /**
   * While links exist, phase changes come from the event stream: a stop revokes the token, and the
   * link ends at once rather than at the next heartbeat. Access changes (a share added or revoked,
   * a transfer) come the same way, from whichever API replica made them: the sessions of users who
   * lost access close here too, and the agent gets the SSH keys it should accept now.
   */
  private watchPhases(): void {
    if (this.phaseWatch) return;
    this.phaseWatch = this.svc.events.subscribe({
      ownerId: null,
      deliver: (e) => {
        const { type, spaceId } = e.event;
        const link = this.get(spaceId);
        if (type === 'space.phase' || type === 'space.deleted' || type === 'space.shared' || type === 'space.transferred') this.accessWatchers.forEach((w) => w(spaceId));
        if (link && (type === 'space.phase' || type === 'space.deleted')) void this.heartbeatToken(link);
        if (link && type === 'space.ssh_keys') void this.pushSsh(link);
        if (link && (type === 'space.shared' || type === 'space.transferred')) {
          this.spaceAccessChanged(spaceId).catch((err: unknown) => this.svc.logger.warn({ err, spaceId }, 'could not apply an access change to the live sessions'));
        }
        return true;
      },
    });
  }

  private unwatchPhases(): void {
    const watch = this.phaseWatch;
    this.phaseWatch = null;
    void watch?.then((w) => w.unsubscribe());
  }

  /** Ends the link when its token is no longer valid for its space; true while it is. */
  private async heartbeatToken(link: AgentLink): Promise<boolean> {
    const token = await this.svc.store.agentTokens.findByHash(link.tokenHash);
    if (token && token.spaceId === link.spaceId) return true;
    link.close(LinkClose.Unauthorized, 'the agent token was revoked');
    return false;
  }

  /** A `space.agent` event with the status every face shows now. */
  private async announce(spaceId: string): Promise<void> {
    const [space, record] = await Promise.all([this.svc.store.spaces.get(spaceId), this.svc.agentState.get(spaceId)]);
    if (!space || space.deletedAt) return;
    const agent = agentStatus(space, record, this.svc.now());
    await this.svc.store.events.append({ type: 'space.agent', spaceId, operationId: null, agent }, this.svc.now());
  }

  /** Server shutdown: agents dial again (another replica, or this one restarted). */
  close(): void {
    this.closing = true;
    for (const link of this.links.values()) link.close(LinkClose.GoingAway, 'the server is shutting down');
    this.links.clear();
    this.owners.clear();
    this.unwatchPhases();
    this.peers.close();
    this.wss.close();
  }
}
