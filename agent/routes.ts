/** Dispatches the streams the server opens over the link to the agent's routes (link/protocol.ts AgentRoute). */
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { AgentRoute } from '../link/protocol';
import type { AgentState } from './agent-state';
import { serveState } from './state-route';
import { serveTerminal } from './terminal-route';
import type { TerminalSessions } from './terminal-sessions';

export interface RouteDeps {
  state: AgentState;
  terminals: TerminalSessions;
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
    if (path === AgentRoute.state) {
      if (method === 'GET') return serveState(stream, deps.state, deps.logger);
      return reply(stream, 405);
    }
    if (path === AgentRoute.terminal) {
      if (method === 'POST') return serveTerminal(stream, headers, deps.terminals, deps.logger);
      return reply(stream, 405);
    }
    reply(stream, 404);
  } catch (e) {
    // a route failing must end its stream, never the agent
    deps.logger.error({ err: e, path }, 'link route failed');
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
}
