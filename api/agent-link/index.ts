/**
 * The API's WebSocket ways in, attached to its HTTP server: the agents' link (`LINK_PATH`) and the
 * terminals of spaces. Any other upgrade is refused with a 404 problem.
 */
import type { Server, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorType, KnotError } from '../../core/errors';
import { LINK_PATH } from '../../link/protocol';
import type { Services } from '../context';
import { LinkRegistry } from './registry';
import type { LinkTimings } from './link';
import { TERMINAL_ROUTE, TerminalBridge } from './terminal-bridge';
import { pathOf, refuseUpgrade } from './upgrade-http';

export { LinkRegistry } from './registry';
export { TerminalClose } from './terminal-bridge';
export type { LinkTimings } from './link';

export interface AgentLinks {
  readonly links: LinkRegistry;
  close(): void;
}

export function attachAgentLinks(server: Server, svc: Services, timings?: LinkTimings): AgentLinks {
  const links = new LinkRegistry(svc, timings);
  const terminals = new TerminalBridge(svc, links);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = pathOf(req);
    const terminal = TERMINAL_ROUTE.exec(path);
    const work = path === LINK_PATH ? links.accept(req, socket, head) : terminal ? terminals.accept(req, socket, head, terminal[1]!) : null;
    if (!work) {
      refuseUpgrade(socket, req, new KnotError(ErrorType.NotFound, `no WebSocket at ${path}`), svc);
      return;
    }
    work.catch((e: unknown) => refuseUpgrade(socket, req, e, svc));
  };
  server.on('upgrade', onUpgrade);
  return {
    links,
    close() {
      server.off('upgrade', onUpgrade);
      terminals.close();
      links.close();
    },
  };
}
