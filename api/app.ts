/**
 * The Express app: security headers, request ids, access logs without secrets, raw bodies (parsed
 * per route so malformed JSON names its position), the routes, and problem+json for everything
 * else (404 unknown route, 405 known path with another method).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { ErrorType, KnotError } from '../core/errors';
import { newId as coreNewId } from '../core/names';
import type { AppDeps, Services } from './context';
import { MAX_BODY_BYTES } from './json-body';
import { accessLog, securityHeaders } from './access-log';
import { buildOpenApi } from './openapi';
import { AuthFailureLimiter } from './rate-limit';
import { KnotMetrics } from '../metrics/metrics';
import { allowedMethods, definePublicRoute, mount, replyWithError, type RouteDef } from './route';
import { API_ROUTES } from './routes';
import { agentStateRouteDoc, createAgentRouter } from './agent-routes';
import { agentTtlMs } from '../store/agent-state';
import { webAppHandlers } from './web-app';
import { agentDownloadRouteDocs, agentDownloadsRoot, createAgentDownloadsRouter } from './agent-downloads';
import { z } from 'zod';
import { EventHub } from './event-stream';
import { agentLinkRouteDocs } from './agent-link';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Counts and times every request by its route pattern (`unmatched` when no route took it). */
function requestMetrics(metrics: KnotMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
      const method = req.method;
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
      metrics.httpRequestDuration.observe({ method, route }, (performance.now() - started) / 1000);
    });
    next();
  };
}

export function servicesOf(deps: AppDeps): Services {
  const now = deps.clock ?? Date.now;
  return {
    store: deps.store,
    config: deps.config,
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    nomad: deps.nomad,
    health: deps.health,
    agentState: deps.agentState ?? deps.store.agentState(agentTtlMs(deps.config), now),
    now,
    newId: deps.newId ?? (() => coreNewId(now())),
    metrics: deps.metrics ?? new KnotMetrics(),
    limiter: new AuthFailureLimiter({ maxFailures: deps.authFailures?.max ?? 20, windowMs: deps.authFailures?.windowMs ?? 60_000, now }),
    events: new EventHub(deps.store, deps.logger, deps.events),
    ...(deps.sshKeysChanged ? { sshKeysChanged: deps.sshKeysChanged } : {}),
  };
}

const openApiRoute = (routes: () => readonly RouteDef[]) =>
  definePublicRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    tag: 'meta',
    summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'the document', schema: z.record(z.string(), z.unknown()) } },
    async handler() {
      return { status: 200, body: buildOpenApi(routes(), { version: '1' }) };
    },
  });

/** Routes served outside Express's route table (upgrades, the agent's router, downloads): documented only. */
const DOCUMENTED_ELSEWHERE: readonly RouteDef[] = [agentStateRouteDoc, ...agentDownloadRouteDocs, ...agentLinkRouteDocs];

export function allRoutes(): readonly RouteDef[] {
  const routes: RouteDef[] = [];
  routes.push(openApiRoute(() => [...routes, ...DOCUMENTED_ELSEWHERE]), ...API_ROUTES);
  return routes;
}

export function createApp(deps: AppDeps, services?: Services): Express {
  const svc = services ?? servicesOf(deps);
  const routes = allRoutes();
  const app = express();
  app.disable('x-powered-by');
  // off unless configured: behind a proxy every client would otherwise share the proxy's address
  app.set('trust proxy', deps.config.server.trust_proxy);
  app.set('query parser', 'simple');

  // the access log (no headers, no bodies) and helmet's headers, both computed once where they can be
  app.use(accessLog(deps.logger, requestIdOf));
  app.use(requestMetrics(svc.metrics));
  app.use(securityHeaders());
  app.use(express.raw({ type: () => true, limit: MAX_BODY_BYTES }));

  for (const r of routes) {
    const [method, path, handler] = mount(r, svc);
    app[method](path, handler);
  }

  // the agent inside a space reports with its own per-space token, not a user's
  app.use(createAgentRouter({ store: svc.store, agentState: svc.agentState, config: svc.config, clock: svc.now, limiter: svc.limiter }));
  // the agent's files for spaces to download (public code, no auth), before the web UI can answer /agent/*
  app.use(createAgentDownloadsRouter(deps.agentRoot === undefined ? agentDownloadsRoot() : deps.agentRoot, svc.logger));
  // the web UI, after every API route so it can never shadow one
  for (const h of webAppHandlers(deps.webRoot)) app.use(h);

  app.use((req: Request, res: Response) => {
    // a documented path with a method it does not take is a 405 wherever it is served (an upgrade-only path asked with GET falls through: 404)
    const allowed = allowedMethods([...routes, ...DOCUMENTED_ELSEWHERE], req.path);
    if (allowed.length > 0 && !allowed.includes(req.method.toUpperCase())) {
      res.setHeader('Allow', allowed.join(', '));
      replyWithError(req, res, svc, new KnotError(ErrorType.MethodNotAllowed, `method ${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}`, { details: { allowed } }));
      return;
    }
    replyWithError(req, res, svc, new KnotError(ErrorType.NotFound, `no route ${req.method} ${req.path}`));
  });
  // body-parser errors (413, bad encodings) and anything else that escaped a handler
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    replyWithError(req, res, svc, err);
  });
  return app;
}
