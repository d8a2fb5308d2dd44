/**
 * The holder's side of the replica relay (replica-protocol.ts): another replica, having checked
 * its caller, opens HTTP/2 streams here naming a space; each is passed to that space's link as it
 * came (headers, body, answer, end) — only if the link is held *here*, so a stream is never relayed
 * twice. A link that ends takes its relayed streams with it, as it does its local ones.
 */
import type { IncomingMessage } from 'node:http';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { constantTimeEqual } from '../../core/crypto';
import { ErrorType, KnotError } from '../../core/errors';
import { LINK_H2_SETTINGS, LINK_MAX_MESSAGE, LINK_SESSION_MEMORY_MB, LINK_SESSION_WINDOW } from '../../link/protocol';
import { webSocketCarrier } from '../../link/ws-carrier';
import { bearerToken } from '../auth';
import type { Services } from '../context';
import type { LinkRegistry } from './registry';
import { REPLICA_REFUSAL_HEADER, REPLICA_SPACE_HEADER, REPLICA_SUBPROTOCOL } from './replica-protocol';
import { refuseUpgrade } from './upgrade-http';

export class ReplicaLinkServer {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: LINK_MAX_MESSAGE,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(REPLICA_SUBPROTOCOL) ? REPLICA_SUBPROTOCOL : false),
  });
  private readonly h2 = http2.createServer({ maxSessionMemory: LINK_SESSION_MEMORY_MB, settings: LINK_H2_SETTINGS });

  constructor(
    private readonly svc: Services,
    private readonly links: LinkRegistry,
    private readonly credential: string | null,
  ) {
    this.h2.on('session', (session) => {
      session.once('connect', () => session.setLocalWindowSize(LINK_SESSION_WINDOW));
      session.on('error', (e) => svc.logger.debug({ err: e }, 'replica relay session error'));
    });
    // streams only (no 'request' listener, so Node's compatibility layer stays off)
    this.h2.on('stream', (stream, headers) => this.pass(stream, headers));
  }

  /** A replica dials in: its credential, no Origin (a page never may), then HTTP/2 over the socket. */
  async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      if (req.headers.origin !== undefined) throw new KnotError(ErrorType.Forbidden, 'the replica relay is not opened from web pages');
      const presented = bearerToken(req as Parameters<typeof bearerToken>[0]);
      if (!this.credential || !presented || !constantTimeEqual(presented, this.credential)) {
        throw new KnotError(ErrorType.Unauthorized, 'not a knot replica (the relay needs the credential derived from server.encrypt)');
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const duplex = webSocketCarrier(ws);
        duplex.on('error', () => ws.terminate());
        this.h2.emit('connection', duplex);
      });
    } catch (e) {
      refuseUpgrade(socket, req, e, this.svc);
    }
  }

  private pass(stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {});
    const spaceId = headers[REPLICA_SPACE_HEADER];
    const link = typeof spaceId === 'string' ? this.links.get(spaceId) : undefined;
    if (!link) {
      if (!stream.destroyed) stream.respond({ ':status': 503, [REPLICA_REFUSAL_HEADER]: 'not-linked-here' }, { endStream: true });
      return;
    }
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) if (name !== REPLICA_SPACE_HEADER && value !== undefined) forward[name] = value;
    const upstream = link.forward(forward, { endStream: stream.endAfterHeaders });
    upstream.on('response', (answer) => {
      if (stream.destroyed) return;
      const out: http2.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer)) if (value !== undefined) out[name] = value;
      stream.respond(out);
      upstream.pipe(stream);
    });
    if (!stream.endAfterHeaders) stream.pipe(upstream);
    upstream.on('error', () => {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.on('close', () => {
      if (!upstream.destroyed) upstream.close(http2.constants.NGHTTP2_CANCEL);
    });
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.h2.close();
  }
}
