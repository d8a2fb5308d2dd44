/**
 * The SSH WebSocket of a space (`GET /api/v1/spaces/:id/ssh/stream`, upgraded): binary messages
 * carry one SSH connection's raw bytes both ways, relayed to an SSH stream on the space's agent
 * link. `knot forward ssh` is its client (OpenSSH's ProxyCommand); SSH itself authenticates the
 * user again inside, with the owner's keys, and the client pins the space's host key.
 *
 * Who may open one: as for the terminal (terminal-bridge.ts) — the owner, admins and `user`-role
 * recipients of a share (whose keys the space's SSH server then accepts too), by bearer
 * token or session cookie with this server's Origin; a forged Origin is refused before the
 * upgrade; another user's space gets the same 4404 as a missing one. Every open is audited
 * (ssh.open). Backpressure holds end to end: both sides are piped streams.
 */
import type { IncomingMessage } from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { Services } from '../context';
import type { LinkStreams } from './link-streams';
import type { LinkRegistry } from './registry';
import type { SessionHandle } from './space-sessions';
import { queryOf } from './upgrade-http';
import { auditSpaceAccess, refuseKnownCaller, runningSpaceLink, upgradeCaller } from './space-access';

export const SSH_STREAM_ROUTE = /^\/api\/v1\/spaces\/([^/]+)\/ssh\/stream$/;

/** Close codes `knot forward ssh` tells apart (4000 + the HTTP status, as the terminal's). */
export const SshClose = {
  Ended: 1000,
  NotFound: 4404,
  NotRunning: 4409,
  AgentGone: 4503,
} as const;

/** A WebSocket message of SSH bytes at most this big (OpenSSH writes at most 32 KiB at a time). */
const MAX_MESSAGE = 1024 * 1024;

export class SshBridge {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false });

  constructor(
    private readonly svc: Services,
    private readonly links: LinkRegistry,
  ) {}

  async accept(req: IncomingMessage, socket: Duplex, head: Buffer, spaceRef: string): Promise<void> {
    const svc = this.svc;
    const actor = await upgradeCaller(req, socket, svc, 'SSH stream');
    if (!actor) return;
    try {
      const owner = queryOf(req).get('owner') ?? undefined;
      const { space, link } = await runningSpaceLink(svc, this.links, actor, spaceRef, 'connect with SSH', owner);
      await auditSpaceAccess(svc, actor, 'ssh.open', space.id, 'ok', {});
      this.wss.handleUpgrade(req, socket, head, (ws) => this.relay(ws, link, (h) => this.links.sessions.track(space.id, actor, h)));
    } catch (e) {
      await refuseKnownCaller(this.wss, req, socket, head, e, svc, { actor, action: 'ssh.open', spaceRef });
    }
  }

  private relay(ws: WebSocket, link: LinkStreams, track: (h: SessionHandle) => () => void): void {
    const stream: ClientHttp2Stream = link.openSsh();
    const wsStream = createWebSocketStream(ws);
    let done = false;
    const handle = {
      close: (code: number, reason: string) => {
        if (done) return;
        done = true;
        link.sshTunnels.delete(handle);
        untrack();
        if (!stream.destroyed) stream.close();
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
      },
    };
    link.sshTunnels.add(handle);
    const untrack = track(handle);

    // the client's bytes may go before the agent answers (its SSH banner); the agent's only after a 200
    wsStream.pipe(stream);
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) {
        stream.pipe(wsStream);
        return;
      }
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text = (text + chunk).slice(0, 500)));
      stream.on('end', () => handle.close(SshClose.AgentGone, text.trim() || `the agent refused SSH (${status})`));
    });
    stream.on('error', () => handle.close(SshClose.AgentGone, "the space's agent disconnected"));
    wsStream.on('error', () => handle.close(SshClose.Ended, 'socket error'));
    ws.on('close', () => handle.close(SshClose.Ended, 'closed'));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
