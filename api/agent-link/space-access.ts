/**
 * What every WebSocket into a running space checks before it is relayed (terminal, SSH; the port
 * stream shares the audit): who is asking, whether a browser's Origin is this server's, whether
 * the space is theirs (admins: anyone's), running, and linked; and how a refusal is told.
 *
 * - Strangers and forged Origins are refused before any upgrade (plain HTTP 401/403/429).
 * - A cookie rides along with any request a browser makes, so a cookie alone is never enough: the
 *   browser must also send this server's Origin (knot's upgrader skips this check; we do not).
 * - Once the caller is known, a refusal is an upgrade closed with 4000 + the HTTP status (4404
 *   a space the caller cannot see or a missing one, 4403 a shared space whose role does not let them
 *   in (a viewer), 4409 not running, 4503 agent not linked, 4400 bad input),
 *   because a page never sees the HTTP status of a refused upgrade. Refusals other than 404 are
 *   audited, as is every stream opened.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { ErrorType, KnotError } from '../../core/errors';
import type { Space } from '../../store/model';
import { authenticate } from '../auth';
import type { Actor, Services } from '../context';
import { toKnotError } from '../problem';
import { findVisibleSpace } from '../space-views';
import type { LinkStreams } from './link-streams';
import type { LinkRegistry } from './registry';
import { isOwnOrigin, refuseUpgrade } from './upgrade-http';

/** The caller of an upgrade, or null after refusing it (the socket is answered and closed). */
export async function upgradeCaller(req: IncomingMessage, socket: Duplex, svc: Services, what: string): Promise<Actor | null> {
  try {
    const origin = req.headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, req, svc)) {
      throw new KnotError(ErrorType.Forbidden, `cross-site WebSocket refused: Origin ${origin} is not this server`);
    }
    const asExpress = Object.assign(req, { ip: req.socket.remoteAddress, protocol: 'http' }) as unknown as Parameters<typeof authenticate>[0];
    const actor = await authenticate(asExpress, svc);
    if (actor.sessionId !== null && origin === undefined) throw new KnotError(ErrorType.Forbidden, `a browser ${what} needs an Origin header`);
    return actor;
  } catch (e) {
    refuseUpgrade(socket, req, e, svc);
    return null;
  }
}

/** The caller's running space and its live link; KnotErrors (404, 409, 503) otherwise. */
export async function runningSpaceLink(svc: Services, links: LinkRegistry, actor: Actor, spaceRef: string, purpose: string, owner?: string): Promise<{ space: Space; link: LinkStreams }> {
  const space = await findVisibleSpace(svc, actor, decodeURIComponent(spaceRef), owner, 'connect');
  if (space.phase !== 'running') throw new KnotError(ErrorType.Conflict, `space '${space.name}' is ${space.phase}; start it to ${purpose}`);
  const link = await links.locate(space.id);
  if (!link) throw new KnotError(ErrorType.Unavailable, `the agent of space '${space.name}' is not connected`);
  return { space, link };
}

/** Appends an audit entry about a space; a store failure is logged, never the caller's problem. */
export async function auditSpaceAccess(svc: Services, actor: Actor, action: string, spaceId: string, outcome: 'ok' | 'refused', detail: Record<string, unknown>): Promise<void> {
  try {
    await svc.store.audit.append({ at: svc.now(), actorId: actor.user.id, actor: actor.user.username, action, resourceType: 'space', resourceId: spaceId, outcome, detail });
  } catch (e) {
    svc.logger.error({ err: e }, 'could not write the audit log');
  }
}

/** Tells a known caller why: an upgrade closed with 4000 + status (audited unless 404); anything unexpected as plain HTTP. */
export async function refuseKnownCaller(
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  e: unknown,
  svc: Services,
  audit: { actor: Actor; action: string; spaceRef: string },
): Promise<void> {
  const { error, unexpected } = toKnotError(e);
  if (unexpected || ![400, 403, 404, 409, 503].includes(error.status)) {
    refuseUpgrade(socket, req, e, svc);
    return;
  }
  if (error.status !== 404) await auditSpaceAccess(svc, audit.actor, audit.action, audit.spaceRef, 'refused', { error: error.type });
  wss.handleUpgrade(req, socket, head, (ws) => ws.close(4000 + error.status, error.message.slice(0, 120)));
}
