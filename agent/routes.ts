/** Dispatches the streams the server opens over the link to the agent's routes (link/protocol.ts AgentRoute). */
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import type http from 'node:http';
import { AgentRoute, HTTP_RELAY_PREFIX } from '../link/protocol';
import type { AgentState } from './agent-state';
import { serveHttpRelay } from './http-relay';
import { serveConnect, type TunnelDeps } from './port-tunnel';
import { serveSsh, serveSshConfig } from './ssh-route';
import type { SshServer } from './ssh-server';
import { serveState } from './state-route';
import { serveTerminal } from './terminal-route';
import type { TerminalSessions } from './terminal-sessions';

export interface RouteDeps {
  state: AgentState;
  terminals: TerminalSessions;
  ssh: SshServer;
  /** KNOT_SSH_PORT: the image's own sshd, preferred when it listens */
  sshPort: number | null;
  /** CONNECT to ports inside the space, and plain HTTP to them; absent: refused */
  tunnels?: TunnelDeps;
  /** keep-alive connections for the HTTP relay (http-relay.ts appConnectionPool) */
  appPool?: http.Agent;
  logger: Logger;
}

function reply(stream: ServerHttp2Stream, status: number): void {
  stream.respond({ ':status': status }, { endStream: true });
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

export function routeStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, deps: RouteDeps): void {
  const method = headers[':method'];
  const path = (headers[':path'] ?? '').split('?')[0];
  try {
    // CONNECT has no :path, only :authority (link/protocol.ts connectAuthority)
    if (method === 'CONNECT') {
      if (deps.tunnels) return serveConnect(stream, headers, deps.tunnels);
      return reply(stream, 404);
    }
    if (path?.startsWith(HTTP_RELAY_PREFIX)) {
      if (deps.tunnels && deps.appPool) return serveHttpRelay(stream, headers, deps.appPool, deps.tunnels);
      return reply(stream, 404);
    }
    if (path === AgentRoute.state) {
      if (method === 'GET') return serveState(stream, deps.state, deps.logger);
      return reply(stream, 405);
    }
    if (path === AgentRoute.terminal) {
      if (method === 'POST') return serveTerminal(stream, headers, deps.terminals, deps.logger);
      return reply(stream, 405);
    }
    if (path === AgentRoute.ssh) {
      if (method !== 'POST') return reply(stream, 405);
      serveSsh(stream, deps.ssh, deps.sshPort, deps.logger).catch((e: unknown) => {
        deps.logger.error({ err: e }, 'ssh route failed');
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      return;
    }
    if (path === AgentRoute.sshConfig) {
      if (method === 'PUT') return serveSshConfig(stream, deps.ssh, deps.logger);
      return reply(stream, 405);
    }
    reply(stream, 404);
  } catch (e) {
    // a route failing must end its stream, never the agent
    deps.logger.error({ err: e, path }, 'link route failed');
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
}
