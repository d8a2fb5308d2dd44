/**
 * The API's WebSocket ways in, attached to its HTTP server: the agents' link (`LINK_PATH`), the
 * terminals of spaces and their SSH streams. Any other upgrade is refused with a 404 problem.
 */
import type { Server, IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Duplex } from 'node:stream';
import { ErrorType, KnotError } from '../../core/errors';
import { LINK_PATH } from '../../link/protocol';
import type { RouteDef } from '../route';
import { problems } from '../schemas/common';
import type { Services } from '../context';
import { LinkRegistry } from './registry';
import type { LinkTimings } from './link';
import { SSH_STREAM_ROUTE, SshBridge } from './ssh-bridge';
import { TERMINAL_ROUTE, TerminalBridge } from './terminal-bridge';
import { PORT_AUTHORIZE_PATH, PortRequests, interceptAppRequests } from './port-requests';
import { PORT_STREAM_ROUTE, PortStreams } from './port-stream';
import { pathOf, refuseUpgrade } from './upgrade-http';
import { REPLICA_LINK_PATH, replicaCredential } from './replica-protocol';
import { ReplicaLinkServer } from './replica-serve';

export { LinkRegistry } from './registry';
export { TerminalClose } from './terminal-bridge';
export { SshClose } from './ssh-bridge';
export type { LinkTimings } from './link';

export interface AgentLinks {
  readonly links: LinkRegistry;
  close(): void;
}

export function attachAgentLinks(server: Server, svc: Services, timings: LinkTimings | undefined, selfUrl: string): AgentLinks {
  // replicas relay sessions to whichever of them holds a space's link (replica-protocol.ts)
  const credential = replicaCredential(svc.config.server.encrypt);
  const links = new LinkRegistry(svc, timings, selfUrl, credential);
  const replicas = new ReplicaLinkServer(svc, links, credential);
  const terminals = new TerminalBridge(svc, links);
  const ssh = new SshBridge(svc, links);
  // web apps in spaces (path form, app hosts) are answered ahead of Express; port streams for `knot forward port`
  const apps = new PortRequests(svc, links);
  const portStreams = new PortStreams(svc, links);
  const stopApps = interceptAppRequests(server, apps);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = pathOf(req);
    // app hosts and /spaces/…/ports/… first: an app's WebSocket never reaches knot's own routes
    const app = apps.upgrade(req, socket, head);
    if (app) return void app.catch((e: unknown) => refuseUpgrade(socket, req, e, svc));
    const portStream = PORT_STREAM_ROUTE.exec(path);
    if (portStream) return void portStreams.accept(req, socket, head, portStream[1]!, portStream[2]!).catch((e: unknown) => refuseUpgrade(socket, req, e, svc));
    const terminal = TERMINAL_ROUTE.exec(path);
    const sshStream = SSH_STREAM_ROUTE.exec(path);
    const work =
      path === LINK_PATH
        ? links.accept(req, socket, head)
        : path === REPLICA_LINK_PATH
          ? replicas.accept(req, socket, head)
        : terminal
          ? terminals.accept(req, socket, head, terminal[1]!)
          : sshStream
            ? ssh.accept(req, socket, head, sshStream[1]!)
            : null;
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
      stopApps();
      portStreams.close();
      ssh.close();
      replicas.close();
      links.close();
    },
  };
}

const docOnly = async (): Promise<never> => {
  throw new Error('documentation only: served by the HTTP server upgrade handler (api/agent-link)');
};

/** The WebSockets and the app hosts' sign-in as the OpenAPI document describes them (served ahead of Express; never mounted as routes). */
export const agentLinkRouteDocs: RouteDef[] = [
  {
    method: 'get',
    path: LINK_PATH,
    summary: "A space's agent dials its link (HTTP upgrade offering subprotocols knot-link.h2, then knot-link.v1; HTTP/2 runs on the upgraded socket itself, or inside WebSocket messages for v1; the server is the HTTP/2 client)",
    description:
      "Authenticated with the space's agent token (`Authorization: Bearer`), minted at each start and revoked at stop (manual spaces: POST /api/v1/spaces/:id/agent-token). " +
      'A missing, wrong, revoked or other-space token: 401 (rate-limited: 429); a request with an Origin header (a web page): 403; the space\'s link is held by an agent that still answers: 409. ' +
      'Both ends ping every 20 s; a link silent for 50 s is ended. See link/protocol.ts.',
    tag: 'agents',
    auth: 'none',
    bodyRequired: false,
    responses: { 101: { description: 'switching protocols: the link is up' }, ...problems(401, 403, 409, 429, 503) },
    handle: docOnly,
  },
  {
    method: 'get',
    path: REPLICA_LINK_PATH,
    summary: "Another API replica relays streams for links this replica holds (WebSocket upgrade, subprotocol knot-replica.v1; HTTP/2 runs over it, the dialing replica as the client)",
    description:
      "Replicas only: `Authorization: Bearer` with the replica credential, an HMAC derived from `server.encrypt` (see api/agent-link/replica-protocol.ts). " +
      "No credential, a wrong one or a user's token: 401 (a server without `server.encrypt` has no relay and answers every dial so); a request with an Origin header (a web page): 403. " +
      'The dialing replica has already checked the caller (credential, role, Origin, audit); each stream names its space and goes to that space\'s link on this replica only, never further (a link not held here: 503 on the stream).',
    tag: 'agents',
    auth: 'none',
    bodyRequired: false,
    responses: { 101: { description: 'switching protocols: the relay is up' }, ...problems(401, 403) },
    handle: docOnly,
  },
  {
    method: 'get',
    path: '/api/v1/spaces/:id/terminal',
    summary: 'A terminal in the space (WebSocket upgrade): query session (8-64 of A-Za-z0-9_-), shell (bash, sh, zsh, fish), cols, rows',
    description:
      'Owner and admins; bearer token or the session cookie, and a browser must send this server\'s Origin (cross-site: 403). ' +
      'Binary messages, one frame each: `[type u8][payload]` (0 data, 1 resize {cols,rows}, 2 exit {code,signal}, 3 notice, 4 error, 5 hello {session,shell,replayed}; link/frames.ts). ' +
      'The same session id re-attaches the same shell and replays its recent output. Once upgraded, refusals are close codes: 4404 not found (another user\'s space too), 4409 not running, 4503 agent not linked, 4400 bad frame, 1009 frame too large. Every terminal opened is audited (terminal.open).',
    tag: 'spaces',
    auth: 'user',
    bodyRequired: false,
    responses: { 101: { description: 'switching protocols: the terminal is attached' }, ...problems(400, 401, 403, 429) },
    handle: docOnly,
  },
  {
    method: 'get',
    path: '/api/v1/spaces/:id/ssh/stream',
    summary: 'An SSH connection into the space (WebSocket upgrade): binary messages are the raw SSH bytes both ways (query owner for an admin reaching another user\'s space by name)',
    description:
      "What `knot forward ssh <space>` relays for OpenSSH's ProxyCommand. Owner and admins; bearer token or the session cookie, and a browser must send this server's Origin (cross-site: 403). " +
      "Inside, SSH authenticates with the owner's SSH keys (GET/POST /api/v1/users/me/ssh-keys) against the space's host key (GET /api/v1/spaces/:id/ssh, to pin it). " +
      "Once upgraded, refusals are close codes: 4404 not found (another user's space too), 4409 not running, 4503 agent not linked or SSH not ready. Every connection opened is audited (ssh.open).",
    tag: 'spaces',
    auth: 'user',
    bodyRequired: false,
    responses: { 101: { description: 'switching protocols: SSH bytes flow' }, ...problems(401, 403, 429) },
    handle: docOnly,
  },
  {
    method: 'get',
    path: '/api/v1/spaces/:id/ports/:port/stream',
    summary: 'A TCP port of the space (WebSocket upgrade): binary messages are the connection\'s bytes both ways (query owner for an admin reaching another user\'s space by name)',
    description:
      'What `knot forward port` opens for each local connection; an empty message is a half-close (link/ws-pipe.ts). Owner and admins; bearer token or the session cookie, and a browser must send this server\'s Origin (cross-site: 403). ' +
      'The connection to the port is made before the upgrade, so refusals are plain problems: 404 (another user\'s space too, or a port the agent did not report), 409 the space is not running, 503 the agent is not linked, 502 nothing answers on the port. ' +
      'Every connection is audited (port.forward, refusals of a known user too).',
    tag: 'spaces',
    auth: 'user',
    bodyRequired: false,
    query: z.object({ owner: z.string().optional() }),
    responses: { 101: { description: 'switching protocols: the connection is open' }, ...problems(400, 401, 403, 404, 409, 429, 502, 503) },
    handle: docOnly,
  },
  {
    method: 'get',
    path: PORT_AUTHORIZE_PATH,
    summary: 'Sign a browser in to an app host: redirects to the app host with a one-time code it trades for a cookie of its own',
    description:
      'Where an app host (`<owner>--<space>--<port>.<server.wildcard_domain>`) sends a browser without its session. Owner and admins, by the session cookie (or a bearer token); ' +
      'the space must be running, linked, and offer the port. Answers 302 to `https://<host>/__knot/session?code=…&path=…`, the code good once for a short time. Audited (port.authorize). ' +
      'Ports the template marks public (`ports: [{ port, public: true }]`) need no sign-in: the app host and the path form `/spaces/<owner>/<space>/ports/<port>/` serve them to anyone over plain HTTP.',
    tag: 'spaces',
    auth: 'user',
    bodyRequired: false,
    query: z.object({
      host: z
        .string()
        .regex(/^[a-z][a-z0-9_-]*--[a-z0-9](?:[a-z0-9-]*[a-z0-9])?--[0-9]{1,5}\.[a-z0-9.-]+(?::[0-9]{1,5})?$/)
        .describe('the app host, as in its Host header: `<owner>--<space>--<port>.` followed by this server\'s `server.wildcard_domain` (another domain is a 400)'),
      path: z.string().optional().describe('where to land on the app host (a local path; default /)'),
    }),
    responses: { 302: { description: 'to the app host with a one-time code' }, ...problems(400, 401, 404, 405, 409, 429, 503) },
    handle: docOnly,
  },
];
