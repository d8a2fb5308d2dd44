/**
 * The streams a session into a space rides on, opened the same way whether the agent's link is held
 * by this process (link.ts: HTTP/2 over the agent's WebSocket) or by another API replica
 * (replica-peers.ts: HTTP/2 to that replica, which passes each stream on to its link). The bridges
 * (terminal, SSH, ports) see only this.
 */
import type http2 from 'node:http2';
import type { ClientHttp2Stream } from 'node:http2';
import { AgentRoute, POOLED_TUNNEL_HEADER, POOLED_TUNNEL_HTTP, TerminalHeader, connectAuthority, httpRelayPath, type AgentStateReport } from '../../link/protocol';

export interface TerminalRequest {
  session: string;
  shell: string;
  cols: number;
  rows: number;
}

export interface SessionCloser {
  close(code: number, reason: string): void;
}

export abstract class LinkStreams {
  /** the agent's last state report (the ports it offers, its services) */
  lastReport: AgentStateReport | null = null;
  /** browser terminals riding this link, closed with it */
  readonly terminals = new Set<SessionCloser>();
  /** SSH connections riding this link, closed with it */
  readonly sshTunnels = new Set<SessionCloser>();
  /**
   * Keep-alive HTTP/1 connections to the apps, by port (app-tunnels.ts): they live on the link
   * object, so a pooled connection is only ever reused for this space's link and that port, and
   * goes with the link.
   */
  readonly appPools = new Map<number, { destroy(): void }>();
  /** whether the agent keeps pooled tunnels (POOLED_TUNNEL_HEADER echoed); null until one was opened */
  pooledTunnels: boolean | null = null;

  abstract readonly spaceId: string;
  abstract get isClosed(): boolean;

  /** One HTTP/2 request toward the agent. */
  protected abstract request(headers: http2.OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions): ClientHttp2Stream;

  /** Opens a terminal stream into the space (stream frames both ways, link/frames.ts). */
  openTerminal(t: TerminalRequest): ClientHttp2Stream {
    return this.request({
      ':method': 'POST',
      ':path': AgentRoute.terminal,
      [TerminalHeader.session]: t.session,
      [TerminalHeader.shell]: t.shell,
      [TerminalHeader.cols]: String(t.cols),
      [TerminalHeader.rows]: String(t.rows),
    });
  }

  /** Opens an SSH stream into the space: the request and response bodies are raw SSH bytes. */
  openSsh(): ClientHttp2Stream {
    return this.request({ ':method': 'POST', ':path': AgentRoute.ssh });
  }

  /** Opens a CONNECT stream to 127.0.0.1:<port> inside the space: raw bytes both ways once the agent answers 200. */
  openConnect(port: number): ClientHttp2Stream {
    return this.request({ ':method': 'CONNECT', ':authority': connectAuthority(port) });
  }

  /** Opens a CONNECT stream for the pool of HTTP/1 connections to `port` (link/protocol.ts POOLED_TUNNEL_HEADER). */
  openPooledTunnel(port: number): ClientHttp2Stream {
    return this.request({ ':method': 'CONNECT', ':authority': connectAuthority(port), [POOLED_TUNNEL_HEADER]: POOLED_TUNNEL_HTTP });
  }

  /**
   * One plain HTTP request to a web port inside the space (link/protocol.ts HTTP_RELAY_PREFIX):
   * `headers` are the app's (no hop-by-hop ones); `endStream` when the request has no body.
   */
  openHttp(port: number, req: { method: string; path: string; authority: string; headers: http2.OutgoingHttpHeaders; endStream: boolean }): ClientHttp2Stream {
    return this.request(
      { ...req.headers, ':method': req.method, ':path': httpRelayPath(port, req.path), ':authority': req.authority, ':scheme': 'http' },
      { endStream: req.endStream },
    );
  }

  /** Ends every terminal and SSH connection riding this link (the link, or the way to it, is gone). */
  protected closeSessions(reason: string): void {
    for (const pool of this.appPools.values()) pool.destroy();
    this.appPools.clear();
    for (const t of this.terminals) t.close(4503, reason);
    this.terminals.clear();
    for (const t of this.sshTunnels) t.close(4503, reason);
    this.sshTunnels.clear();
  }
}
