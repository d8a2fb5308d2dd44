/**
 * Who may reach which port of which space, shared by the three ways in (the path form, the app
 * hosts under `server.wildcard_domain`, and `knot forward port`'s WebSocket): the caller, the
 * space (owner and admins; another user's space is the same 404 as a missing one), its phase, its
 * agent link, and the port (only ports the agent reported or declared: knot's allowlist check is
 * commented out, ours is not). Also the CONNECT tunnel to the port once all that holds.
 */
import type { IncomingMessage } from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import { hashToken } from '../../core/crypto';
import { ErrorType, KnotError } from '../../core/errors';
import { publicPortsOf } from '../../core/template';
import type { Space } from '../../store/model';
import { touchIfStale } from '../../store/store';
import { authenticate, bearerToken } from '../auth';
import type { Actor, Services } from '../context';
import { findUser } from '../lookup';
import { SESSION_COOKIE, sessionSecretOf } from '../sessions';
import { findSpaceWithRole } from '../space-views';
import type { LinkStreams } from './link-streams';
import type { PortGrants } from './port-grants';
import type { LinkRegistry } from './registry';

/** How long the agent has to dial the port and answer the CONNECT. */
const TUNNEL_OPEN_MS = 10_000;

export interface PortRef {
  /** a space id, or a name (of `owner`'s space when given, else the caller's) */
  space: string;
  owner?: string;
  port: number;
}

export interface PortTarget {
  space: Space;
  link: LinkStreams;
  port: number;
}

export function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** An IncomingMessage dressed as far as api/auth.ts reads an Express request (upgrades and raw requests skip Express). */
export function asExpress(req: IncomingMessage): Parameters<typeof authenticate>[0] {
  return Object.assign(req, { ip: req.socket.remoteAddress, protocol: 'http' }) as unknown as Parameters<typeof authenticate>[0];
}

/**
 * A bearer token, else the UI's session cookie; null when neither is there. Unlike the API's
 * authenticate, a cookie needs no X-CSRF-Token here: apps never send it; the callers check the
 * Origin instead.
 */
export async function portCaller(req: IncomingMessage, svc: Services, grants?: PortGrants): Promise<Actor | null> {
  const r = asExpress(req);
  if (req.headers.authorization !== undefined) {
    const token = grants ? bearerToken(r) : null;
    if (!token) return authenticate(r, svc);
    const key = `b:${hashToken(token)}`;
    const known = grants!.actor(key);
    if (known) return known;
    const actor = await authenticate(r, svc);
    grants!.rememberActor(key, actor);
    return actor;
  }
  const secret = sessionSecretOf(r);
  if (secret === null) return null;
  const secretHash = hashToken(secret);
  const known = grants?.actor(`s:${secretHash}`);
  if (known) return known;
  const actor = await sessionCaller(r, svc, secretHash);
  grants?.rememberActor(`s:${secretHash}`, actor);
  return actor;
}

async function sessionCaller(r: ReturnType<typeof asExpress>, svc: Services, secretHash: string): Promise<Actor> {
  const now = svc.now();
  const session = await svc.store.sessions.findUsableByHash(secretHash, now);
  const user = session ? await svc.store.users.get(session.userId) : null;
  if (!session || !user || !user.active) {
    svc.limiter.failed(r.ip ?? 'unknown', null);
    throw new KnotError(ErrorType.Unauthorized, `the ${SESSION_COOKIE} session is not valid (signed out, expired or revoked): sign in again`);
  }
  await touchIfStale(svc.store.sessions, session, now);
  return { user, tokenId: null, sessionId: session.id, groups: await svc.store.groups.namesOfUser(user.id), isAdmin: user.role === 'admin' };
}

/** The ports a connected agent offers: what it reported listening or answering HTTP (code-server's too), and what it declared. */
export function offeredPorts(link: Pick<LinkStreams, 'lastReport'>): Set<number> {
  const s = link.lastReport?.services;
  const codeServer = s?.codeServer && s.codeServerPort ? [s.codeServerPort] : [];
  return new Set([...(s?.ports ?? []), ...(s?.httpPorts ?? []), ...codeServer, ...Object.keys(s?.portNames ?? {}).map(Number)]);
}

/** Whether the agent offers `port` (offeredPorts without building the set: asked on every proxied request). */
export function offersPort(link: Pick<LinkStreams, 'lastReport'>, port: number): boolean {
  const s = link.lastReport?.services;
  if (!s) return false;
  if (s.ports?.includes(port) || s.httpPorts?.includes(port) || (s.codeServer && s.codeServerPort === port)) return true;
  return s.portNames !== undefined && Object.keys(s.portNames).some((k) => Number(k) === port);
}

/** The space, its live link and the port, or the refusal: 404 (unknown, another user's, a port not offered), 409 stopped, 503 not linked. */
export async function resolvePortTarget(svc: Services, links: LinkRegistry, actor: Actor, ref: PortRef, grants?: PortGrants): Promise<PortTarget> {
  let space = grants?.space(actor, ref.owner, ref.space)?.space;
  if (!space) {
    const found = await findSpaceWithRole(svc, actor, ref.space, ref.owner, 'connect');
    space = found.space;
    // remembered only while this process holds the link: its event watch drops the entry on a phase or access change
    if (grants && links.get(space.id)) grants.rememberSpace(actor, ref.owner, ref.space, found);
  }
  if (space.phase !== 'running') throw new KnotError(ErrorType.Conflict, `space '${space.name}' is ${space.phase}; start it to reach its ports`);
  const link = await links.locate(space.id);
  if (!link) throw new KnotError(ErrorType.Unavailable, `the agent of space '${space.name}' is not connected`);
  if (!offersPort(link, ref.port)) {
    throw new KnotError(ErrorType.NotFound, `port ${ref.port} is not open in space '${space.name}' (nothing listens there, or the agent has not reported it yet)`, {
      details: { port: ref.port },
    });
  }
  return { space, link, port: ref.port };
}

/**
 * The target of a port anyone may reach without signing in, or null: `owner`'s space of that name
 * (the owner still active), running and linked, the port offered by the agent and marked public by
 * the template version the space APPLIED (not its latest: a port turns public only with an update).
 * Null tells nothing apart, so a stranger learns no more than from any other 401.
 */
export async function publicPortTarget(svc: Services, links: LinkRegistry, ref: { owner: string; space: string; port: number }): Promise<PortTarget | null> {
  const owner = await findUser(svc.store, ref.owner);
  if (!owner || !owner.active) return null;
  const space = await svc.store.spaces.getByName(owner.id, ref.space);
  if (!space || space.deletedAt || space.phase !== 'running' || !space.appliedVersion) return null;
  const link = await links.locate(space.id);
  if (!link || !offeredPorts(link).has(ref.port)) return null;
  const applied = await svc.store.templates.getVersion(space.templateId, space.appliedVersion);
  return publicPortsOf(applied?.content).includes(ref.port) ? { space, link, port: ref.port } : null;
}

/** Opens the CONNECT tunnel; a port that refuses (the app went away) is a 502. */
export function openTunnel(target: PortTarget, timeoutMs = TUNNEL_OPEN_MS): Promise<ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      stream = target.link.openConnect(target.port);
    } catch {
      reject(new KnotError(ErrorType.Unavailable, `the agent of space '${target.space.name}' is not connected`));
      return;
    }
    let settled = false;
    const fail = (e: KnotError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!stream.destroyed) stream.close();
      reject(e);
    };
    const timer = setTimeout(() => fail(new KnotError(ErrorType.AgentUnreachable, `port ${target.port} of space '${target.space.name}' did not answer in time`)), timeoutMs);
    stream.once('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) {
        settled = true;
        clearTimeout(timer);
        resolve(stream);
        return;
      }
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text = (text + c).slice(0, 300)));
      stream.once('end', () => fail(new KnotError(ErrorType.AgentUnreachable, `port ${target.port} of space '${target.space.name}': ${text.trim() || `the agent answered ${status}`}`)));
    });
    stream.once('error', () => fail(new KnotError(ErrorType.Unavailable, `the agent of space '${target.space.name}' disconnected`)));
    stream.once('close', () => fail(new KnotError(ErrorType.AgentUnreachable, `the agent closed the connection to port ${target.port}`)));
  });
}

