/**
 * A TCP port of a space as a WebSocket (`GET /api/v1/spaces/:id/ports/:port/stream`, upgraded):
 * what `knot forward port` opens for each local connection. The bytes ride a CONNECT tunnel on the
 * space's agent link, with the half-close convention of link/ws-pipe.ts.
 *
 * Same rules as the terminal: owner, admins and `user`-role recipients of a share, a bearer token or the session cookie, a browser's
 * Origin must be this server's, and every connection is audited (port.forward). The tunnel is
 * opened before the upgrade, so a port nothing listens on is a plain HTTP 502 the CLI can show.
 *
 * A client offering `knot-port.raw` (today's CLI) gets the raw mode (link/raw-port.ts): after the
 * 101 the socket's bytes go straight into the tunnel and back, no WebSocket frames; the checks,
 * the audit and the session tracking are the same for both modes.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ErrorType, KnotError } from '../../core/errors';
import { offeredSubprotocols } from '../../link/raw-link';
import { pipeRaw, PORT_SUBPROTOCOL, PORT_SUBPROTOCOL_RAW, rawPortAnswer, tearDown, validWebSocketKey } from '../../link/raw-port';
import { pipeOverWebSocket } from '../../link/ws-pipe';
import type { Actor, Services } from '../context';
import { toKnotError } from '../problem';
import { openTunnel, parsePort, portCaller, resolvePortTarget } from './port-access';
import { auditSpaceAccess } from './space-access';
import type { LinkRegistry } from './registry';
import { isOwnOrigin, queryOf, refuseUpgrade } from './upgrade-http';

export const PORT_STREAM_ROUTE = /^\/api\/v1\/spaces\/([^/]+)\/ports\/([^/]+)\/stream$/;

/** The largest message a client may send (the CLI sends socket reads, at most 64 KiB each). */
const MAX_MESSAGE = 1024 * 1024;

export class PortStreams {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE,
    perMessageDeflate: false,
    // the WebSocket mode by name when offered; otherwise the first offered, as before this hook
    handleProtocols: (protocols) => (protocols.has(PORT_SUBPROTOCOL) ? PORT_SUBPROTOCOL : (protocols.values().next().value ?? false)),
  });
  /** raw-mode sockets open now (close() ends them, as it terminates the WebSockets) */
  private readonly raw = new Set<Socket>();

  constructor(
    private readonly svc: Services,
    private readonly links: LinkRegistry,
  ) {}

  async accept(req: IncomingMessage, socket: Duplex, head: Buffer, spaceRef: string, portText: string): Promise<void> {
    const svc = this.svc;
    let actor: Actor | null = null;
    let spaceId = spaceRef;
    try {
      const origin = req.headers.origin;
      if (origin !== undefined && !isOwnOrigin(origin, req, svc)) throw new KnotError(ErrorType.Forbidden, `cross-site WebSocket refused: Origin ${origin} is not this server`);
      actor = await portCaller(req, svc);
      if (!actor) throw new KnotError(ErrorType.Unauthorized, 'missing Authorization: Bearer <token> header (or a session cookie)');
      // a cookie rides along with any request the browser makes: only our own pages may use it here
      if (actor.sessionId !== null && origin === undefined) throw new KnotError(ErrorType.Forbidden, 'a browser port stream needs an Origin header');
      const port = parsePort(portText);
      if (port === null) throw new KnotError(ErrorType.Validation, `port: must be 1-65535, not '${portText}'`, { errors: [{ path: 'path.port', message: 'a port number, 1-65535' }] });
      const owner = queryOf(req).get('owner');
      const target = await resolvePortTarget(svc, this.links, actor, { space: decodeURIComponent(spaceRef), port, ...(owner ? { owner } : {}) });
      spaceId = target.space.id;
      const tunnel = await openTunnel(target);
      await auditSpaceAccess(svc, actor, 'port.forward', spaceId, 'ok', { port });
      if (socket.destroyed) {
        tunnel.close();
        return;
      }
      const caller = actor;
      const key = req.headers['sec-websocket-key'];
      if (offeredSubprotocols(req.headers['sec-websocket-protocol']).includes(PORT_SUBPROTOCOL_RAW) && validWebSocketKey(key) && socket instanceof Socket) {
        // the bytes straight on this socket from the next one on (link/raw-port.ts)
        socket.setTimeout(0);
        socket.setNoDelay(true);
        // the client's FIN ends only its direction (http servers accept half-open; made sure here)
        socket.allowHalfOpen = true;
        socket.write(rawPortAnswer(key));
        if (head.length > 0) socket.unshift(head);
        this.raw.add(socket);
        const untrack = this.links.sessions.track(target.space.id, caller, {
          // a reset: the CLI must not take it for the app's end of its direction
          close: () => {
            tunnel.destroy();
            tearDown(socket);
          },
        });
        // the tunnel's body comes in HTTP/2 DATA frames of ≤ 16 KiB: one write to the CLI per turn
        pipeRaw(
          socket,
          tunnel,
          () => {
            this.raw.delete(socket);
            untrack();
          },
          tunnel,
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // revoking the caller's access closes the forwarded connection (space-sessions.ts)
        const untrack = this.links.sessions.track(target.space.id, caller, {
          close: (code, reason) => {
            tunnel.destroy();
            if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
          },
        });
        pipeOverWebSocket(ws, tunnel, () => untrack());
      });
    } catch (e) {
      const { error } = toKnotError(e);
      if (actor && error.status !== 404 && error.status !== 401) await auditSpaceAccess(svc, actor, 'port.forward', spaceId, 'refused', { port: portText, error: error.type });
      refuseUpgrade(socket, req, e, svc, error.type === ErrorType.Unauthorized ? { 'WWW-Authenticate': 'Bearer realm="knot"' } : {});
    }
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    for (const socket of this.raw) tearDown(socket);
    this.wss.close();
  }
}
