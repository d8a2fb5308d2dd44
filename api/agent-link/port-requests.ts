/**
 * Web apps inside spaces, served by the API's HTTP server ahead of Express (the answers are the
 * app's, streamed, not the API's JSON):
 *
 * - the path form `/spaces/<owner>/<space>/ports/<port>/...` on the server's own origin: needs no
 *   wildcard DNS or certificate (Coder #9845). It shares knot's origin, so an app's scripts could
 *   act with the viewer's UI session: with the session cookie only the space's owner may open it
 *   (an admin opening a user's app would hand the user their admin session); tokens: owner and admins.
 * - app hosts `<owner>--<space>--<port>.<server.wildcard_domain>`: an origin of their own, with a
 *   per-host session (port-sessions.ts); owner and admins.
 * - `GET /api/v1/ports/authorize`: where an app host sends a browser without its session.
 *
 * knot serves web ports to anyone who knows the address; here every request is authenticated and
 * checked (space visible, running, linked, port offered), except plain HTTP from a stranger to a
 * port the space's applied template version marks public (`ports: [{ port, public: true }]`). A cookie-authenticated request that can
 * change state (an unsafe method or a WebSocket) must come from the app's own origin: apps do not
 * send knot's X-CSRF-Token, so the Origin is the check.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorType, KnotError } from '../../core/errors';
import type { Actor, Services } from '../context';
import { PROBLEM_CONTENT_TYPE, problemOf, toKnotError } from '../problem';
import { cookiesOf } from '../sessions';
import { openTunnel, parsePort, portCaller, publicPortTarget, resolvePortTarget, type PortRef } from './port-access';
import { auditSpaceAccess } from './space-access';
import type { LinkStreams } from './link-streams';
import { PORT_SESSION_COOKIE, proxyUpgrade, relayHttp, type ProxyTarget } from './port-proxy';
import { PortGrants } from './port-grants';
import { AppTunnelPool, relayPooled } from './app-tunnels';
import { PortSessions } from './port-sessions';
import type { LinkRegistry } from './registry';
import { isOwnOrigin, pathOf, queryOf, refuseUpgrade } from './upgrade-http';

export const PORT_AUTHORIZE_PATH = '/api/v1/ports/authorize';
/** Where an app host trades a one-time code for its session cookie (no app is asked for this path). */
export const PORT_SESSION_PATH = '/__knot/session';

const PATH_FORM = /^\/spaces\/([^/]+)\/([^/]+)\/ports\/([^/]+)(\/.*)?$/;
/** `<owner>--<space>--<port>`: the owner is up to the first `--` (usernames rarely hold one), the port after the last */
const APP_LABEL = /^([a-z][a-z0-9_-]*?)--([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)--(\d{1,5})$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AppHost extends PortRef {
  owner: string;
  /** the Host header, lowercased (with its port, when it has one) */
  host: string;
}

/** The app a Host names under the wildcard domain (`*.knot.example.com`), or null. */
export function appHostOf(hostHeader: string | undefined, wildcardDomain: string): AppHost | null {
  const suffix = wildcardDomain.trim().toLowerCase().replace(/^\*\./, '');
  if (!hostHeader || !suffix) return null;
  const host = hostHeader.toLowerCase();
  const name = host.replace(/:\d+$/, '');
  if (!name.endsWith(`.${suffix}`)) return null;
  const m = APP_LABEL.exec(name.slice(0, -suffix.length - 1));
  const port = m ? parsePort(m[3]!) : null;
  return m && port !== null ? { owner: m[1]!, space: m[2]!, port, host } : null;
}

/** A path to send the browser to after a redirect: only a local one (never `//elsewhere`). */
function localPath(p: string | null): string {
  return p && p.startsWith('/') && !p.startsWith('//') && !p.startsWith('/\\') ? p : '/';
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function redirect(res: ServerResponse, status: number, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers });
  res.end();
}

export class PortRequests {
  private readonly sessions: PortSessions;
  /** plain HTTP's recent positive checks, at most 1 s old (port-grants.ts: the bound and the invalidation) */
  readonly grants = new PortGrants();
  private parsedUrl: { text: string; url: URL } | null = null;

  constructor(
    private readonly svc: Services,
    private readonly links: LinkRegistry,
  ) {
    this.sessions = new PortSessions(svc);
    links.accessWatchers.add((spaceId) => this.grants.spaceChanged(spaceId));
  }

  private get serverUrl(): URL {
    const text = this.svc.config.server.url;
    if (this.parsedUrl?.text !== text) this.parsedUrl = { text, url: new URL(text) };
    return this.parsedUrl.url;
  }

  private appHost(req: IncomingMessage): AppHost | null {
    return appHostOf(req.headers.host, this.svc.config.server.wildcard_domain);
  }

  /** Takes a request for an app (or authorize); false when it is not one (Express answers it). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const app = this.appHost(req);
    const path = pathOf(req);
    let work: Promise<void>;
    if (app) work = path === PORT_SESSION_PATH ? this.exchange(req, res, app) : this.relay(req, res, null, app);
    else if (path === PORT_AUTHORIZE_PATH) work = this.authorize(req, res);
    else if (PATH_FORM.test(path)) work = this.relay(req, res, null, null);
    else return false;
    work.catch((e: unknown) => this.reply(req, res, e));
    return true;
  }

  /** Takes an upgrade for an app; null when it is not one. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> | null {
    const app = this.appHost(req);
    if (!app && !PATH_FORM.test(pathOf(req))) return null;
    return this.relay(req, null, { socket, head }, app);
  }

  /** An app request of either form, plain (`res`) or an upgrade (`up`): authenticate, check, tunnel, relay. */
  private async relay(req: IncomingMessage, res: ServerResponse | null, up: { socket: Duplex; head: Buffer } | null, app: AppHost | null): Promise<void> {
    const url = req.url ?? '/';
    const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
    let ref: PortRef & { owner: string };
    let prefix = '';
    let rest = pathOf(req);
    if (app) ref = app;
    else {
      const m = PATH_FORM.exec(pathOf(req))!;
      const port = parsePort(m[3]!);
      if (port === null) return this.refuse(req, res, up, null, new KnotError(ErrorType.NotFound, `no port '${decode(m[3]!)}': ports are 1-65535`));
      ref = { owner: decode(m[1]!), space: decode(m[2]!), port };
      prefix = `/spaces/${m[1]}/${m[2]}/ports/${port}`;
      // relative links in the app resolve against the directory: the bare prefix gets its slash
      if (m[4] === undefined && res) return redirect(res, 308, `${prefix}/${query}`);
      rest = m[4] ?? '/';
    }
    const publicOrigin = `${this.serverUrl.protocol}//${app ? app.host : (req.headers.host ?? this.serverUrl.host)}`;

    let actor: Actor | null = null;
    // plain HTTP only: a WebSocket is checked against the store every time (it lasts, and is tracked for revocation)
    const grants = up ? undefined : this.grants;
    try {
      const byCookie = req.headers.authorization === undefined;
      // a signed-out browser may still hold a stale session cookie: a stranger all the same for a public port
      let staleSession: unknown = null;
      if (app) {
        const secret = byCookie ? cookiesOf(req as Parameters<typeof cookiesOf>[0])[PORT_SESSION_COOKIE] : undefined;
        actor = byCookie ? (secret ? await this.sessions.check(secret, app.host) : null) : await portCaller(req, this.svc, grants);
      } else {
        actor = await portCaller(req, this.svc, grants).catch((e: unknown) => {
          if (!byCookie) throw e;
          staleSession = e;
          return null;
        });
      }
      // a stranger: only plain HTTP to a port the applied template marks public (WebSockets stay signed in)
      if (!actor && byCookie && res && (await this.servePublic(req, res, ref, { prefix, path: `${rest}${query}`, publicOrigin, port: ref.port, stripAuthorization: false }))) return;
      if (staleSession) throw staleSession;
      if (app && !actor && res && (req.method === 'GET' || req.method === 'HEAD')) {
        const base = this.svc.config.server.url.replace(/\/+$/, '');
        return redirect(res, 302, `${base}${PORT_AUTHORIZE_PATH}?host=${encodeURIComponent(app.host)}&path=${encodeURIComponent(url)}`);
      }
      if (!actor) throw new KnotError(ErrorType.Unauthorized, app ? 'sign in: open this address in a browser signed in to knot, or send Authorization: Bearer <token>' : 'missing Authorization: Bearer <token> header (or the knot session cookie)');

      // state changes and WebSockets: a browser's Origin must be the app's own; with a cookie it must be there
      const origin = req.headers.origin;
      if (up || !SAFE_METHODS.has(req.method ?? 'GET')) {
        if (origin === undefined && byCookie) throw new KnotError(ErrorType.Forbidden, 'a request that can change state needs an Origin header');
        const own = app ? origin === publicOrigin : origin !== undefined && isOwnOrigin(origin, req, this.svc);
        if (origin !== undefined && !own) throw new KnotError(ErrorType.Forbidden, `cross-site request refused: Origin ${origin} is not this app's`);
      }
      const target = await resolvePortTarget(this.svc, this.links, actor, ref, grants);
      if (!app && actor.sessionId !== null && target.space.ownerId !== actor.user.id) {
        throw new KnotError(ErrorType.Forbidden, "another user's app is not opened on knot's own origin with your session: use its app host, or a token");
      }
      const t: ProxyTarget = { prefix, path: `${rest}${query}`, publicOrigin, port: ref.port, stripAuthorization: !byCookie };
      if (up) {
        const tunnel = await openTunnel(target);
        if (up.socket.destroyed) tunnel.close();
        else {
          proxyUpgrade(req, up.socket, up.head, tunnel, t);
          // an app's WebSocket lasts: revoking the caller's access cuts it (space-sessions.ts)
          const socket = up.socket;
          const untrack = this.links.sessions.track(target.space.id, actor, { close: () => socket.destroy() });
          socket.once('close', untrack);
        }
      } else this.relayHttp(req, res!, target.link, t, actor, ref);
    } catch (e) {
      return this.refuse(req, res, up, actor, e, ref);
    }
  }

  /**
   * A stranger's request to a public port: relayed as the owner's would be (knot's credentials are
   * stripped all the same), not audited (every page load would be an entry), logged at debug.
   * False when the port is not public (or not reachable now): the caller answers as for a stranger.
   */
  private async servePublic(req: IncomingMessage, res: ServerResponse, ref: PortRef & { owner: string }, t: ProxyTarget): Promise<boolean> {
    const target = await publicPortTarget(this.svc, this.links, ref);
    if (!target) return false;
    this.svc.logger.debug({ spaceId: target.space.id, port: ref.port, method: req.method, path: t.path }, 'public port request');
    this.relayHttp(req, res, target.link, t, null, ref);
    return true;
  }

  /**
   * Relays a checked request over the link's pooled tunnels to the port (app-tunnels.ts), or as one
   * HTTP/2 request when the agent does not keep pooled tunnels; the agent not reaching the app is
   * refused (and audited for a known caller) like any other refusal.
   */
  private relayHttp(req: IncomingMessage, res: ServerResponse, link: LinkStreams, t: ProxyTarget, actor: Actor | null, ref: PortRef): void {
    const onError = (e: Error) => {
      void this.refuse(req, res, null, actor, new KnotError(ErrorType.AgentUnreachable, `port ${t.port}: ${e.message}`), ref).catch((err: unknown) => this.svc.logger.error({ err }, 'port refusal failed'));
    };
    if (link.pooledTunnels === false) relayHttp(req, res, link, t, onError);
    else relayPooled(req, res, AppTunnelPool.of(link, t.port), t, onError);
  }

  /** An app host's `/__knot/session?code=&path=`: the code becomes this host's cookie. */
  private async exchange(req: IncomingMessage, res: ServerResponse, app: AppHost): Promise<void> {
    const q = queryOf(req);
    const grant = this.sessions.redeem(q.get('code') ?? '', app.host);
    if (!grant) throw new KnotError(ErrorType.Unauthorized, 'this sign-in link is invalid, used or expired: open the app again');
    redirect(res, 302, localPath(q.get('path')), { 'set-cookie': this.sessions.cookie(grant.secret, grant.maxAgeS) });
  }

  /** `GET /api/v1/ports/authorize?host=&path=`: the signed-in caller gets a one-time code for that app host. */
  private async authorize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new KnotError(ErrorType.MethodNotAllowed, `method ${req.method} is not allowed on ${PORT_AUTHORIZE_PATH}; allowed: GET`);
    const q = queryOf(req);
    const app = appHostOf(q.get('host') ?? '', this.svc.config.server.wildcard_domain);
    if (!app) {
      throw new KnotError(ErrorType.Validation, 'host: not an app host (<owner>--<space>--<port> under server.wildcard_domain)', { errors: [{ path: 'query.host', message: 'an app host' }] });
    }
    const actor = await portCaller(req, this.svc);
    if (!actor) throw new KnotError(ErrorType.Unauthorized, 'sign in to knot in this browser, then open the app again');
    let spaceId = app.space;
    try {
      spaceId = (await resolvePortTarget(this.svc, this.links, actor, app)).space.id;
    } catch (e) {
      await this.audit(actor, spaceId, e);
      throw e;
    }
    const code = await this.sessions.mintCode(app.host, actor);
    await auditSpaceAccess(this.svc, actor, 'port.authorize', spaceId, 'ok', { port: app.port, host: app.host });
    redirect(res, 302, `${this.serverUrl.protocol}//${app.host}${PORT_SESSION_PATH}?code=${encodeURIComponent(code)}&path=${encodeURIComponent(localPath(q.get('path')))}`);
  }

  private async refuse(req: IncomingMessage, res: ServerResponse | null, up: { socket: Duplex } | null, actor: Actor | null, e: unknown, ref?: PortRef): Promise<void> {
    if (actor) await this.audit(actor, ref?.space ?? '', e, ref?.port);
    const challenge: Record<string, string> = toKnotError(e).error.type === ErrorType.Unauthorized ? { 'WWW-Authenticate': 'Bearer realm="knot"' } : {};
    if (up) refuseUpgrade(up.socket, req, e, this.svc, challenge);
    else this.reply(req, res!, e, challenge);
  }

  private async audit(actor: Actor, space: string, e: unknown, port?: number): Promise<void> {
    const { error } = toKnotError(e);
    await auditSpaceAccess(this.svc, actor, 'port.http', space, 'refused', { ...(port ? { port } : {}), error: error.type, status: error.status });
  }

  /** A problem+json answer (or a cut connection when the app's answer had already begun). */
  private reply(req: IncomingMessage, res: ServerResponse, e: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { error, unexpected } = toKnotError(e);
    if (unexpected) this.svc.logger.error({ err: e, url: pathOf(req) }, 'port request failed');
    const body = JSON.stringify(problemOf(error, { originalUrl: req.url ?? '', id: randomUUID() }));
    res.writeHead(error.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', ...headers });
    res.end(body);
  }
}

/**
 * Puts `ports` in front of the server's request listeners (the Express app): app requests never
 * reach Express. Returns the undo.
 */
export function interceptAppRequests(server: Server, ports: PortRequests): () => void {
  const others = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!ports.serve(req, res)) for (const l of others) l.call(server, req, res);
  };
  server.on('request', onRequest);
  return () => {
    server.off('request', onRequest);
    for (const l of others) if (!server.listeners('request').includes(l)) server.on('request', l);
  };
}
