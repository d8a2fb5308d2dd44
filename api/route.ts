/**
 * One route = one declaration: method, path, who may call it, the zod schemas of its body and
 * query, its responses and its audit action. The same declarations mount the Express handlers and
 * generate the OpenAPI document, so the two can't drift apart.
 */
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { ErrorType, KnotError } from '../core/errors';
import type { AuditOutcome } from '../store/model';
import { authenticate, requireAdmin } from './auth';
import type { Actor, Services } from './context';
import { parseJsonBody } from './json-body';
import { problemOf, sendProblem, toKnotError } from './problem';
import { parseOrThrow } from './validate';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type AuthLevel = 'none' | 'user' | 'admin';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
  /** the handler took over the response (a stream): nothing more is sent */
  streamed?: boolean;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** default application/json */
  contentType?: string;
}

/** Mutable audit facts a handler fills in as it learns them (e.g. the resolved space id). */
export interface AuditScope {
  resourceId: string | null;
  detail: Record<string, unknown>;
}

export interface RouteContext<B, Q> {
  req: Request;
  res: Response;
  svc: Services;
  actor: Actor;
  params: Record<string, string>;
  body: B;
  contentType: string | null;
  query: Q;
  audit: AuditScope;
}

export interface PublicRouteContext<Q, B = undefined> {
  req: Request;
  res: Response;
  svc: Services;
  query: Q;
  body: B;
}

interface RouteDocs {
  method: HttpMethod;
  path: string;
  summary: string;
  tag: string;
  description?: string;
  responses: Record<number, ResponseDoc>;
}

export interface RouteSpec<B, Q> extends RouteDocs {
  auth: 'user' | 'admin';
  /** content type → schema; absent = the route takes no body */
  body?: Record<string, z.ZodType<B>>;
  bodyRequired?: boolean;
  query?: z.ZodType<Q>;
  audit?: { action: string; resourceType: string; resourceIdParam?: string };
  handler: (ctx: RouteContext<B, Q>) => Promise<Reply>;
}

export interface PublicRouteSpec<Q, B = undefined> extends RouteDocs {
  query?: z.ZodType<Q>;
  /** content type → schema (e.g. the sign-in credentials); absent = no body */
  body?: Record<string, z.ZodType<B>>;
  handler: (ctx: PublicRouteContext<Q, B>) => Promise<Reply>;
}

/** A declared route with its types erased: what the app mounts and the OpenAPI generator reads. */
export interface RouteDef extends RouteDocs {
  auth: AuthLevel;
  body?: Record<string, z.ZodType>;
  bodyRequired: boolean;
  query?: z.ZodType;
  audit?: { action: string; resourceType: string };
  handle(req: Request, res: Response, svc: Services): Promise<void>;
}

/** Express path `/a/:id/b` → OpenAPI `/a/{id}/b`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '');
}

/** Regex matching concrete paths of a route path (for 405 detection). */
export function pathMatcher(path: string): RegExp {
  const src = path
    .split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${src}/?$`);
}

/**
 * How specific a route path is, segment by segment ('0' literal, '1' parameter): of the routes
 * matching one concrete path, the smallest key wins, as `/templates/validate` beats
 * `/templates/:name`.
 */
export function pathSpecificity(path: string): string {
  return path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '1' : '0'))
    .join('');
}

/**
 * The methods a concrete path really has: those of the most specific route paths matching it
 * (HEAD with GET); empty when no route matches.
 */
export function allowedMethods(routes: readonly Pick<RouteDef, 'method' | 'path'>[], concretePath: string): string[] {
  const matching = routes.filter((r) => pathMatcher(r.path).test(concretePath));
  if (matching.length === 0) return [];
  const best = matching.map((r) => pathSpecificity(r.path)).sort()[0];
  const methods = [...new Set(matching.filter((r) => pathSpecificity(r.path) === best).map((r) => r.method.toUpperCase()))];
  if (methods.includes('GET')) methods.push('HEAD');
  return methods;
}

function mediaType(req: Request): { type: string | null; charset: string | null } {
  const header = req.headers['content-type'];
  if (!header) return { type: null, charset: null };
  const [type = '', ...params] = header.split(';');
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  return { type: type.trim().toLowerCase(), charset: charset ? charset.slice('charset='.length).replace(/"/g, '') : null };
}

function hasBody(req: Request): boolean {
  return Buffer.isBuffer(req.body) && req.body.length > 0;
}

/** Reads, decodes and validates the body of a request for a route. */
function readBody(req: Request, route: { body?: Record<string, z.ZodType>; bodyRequired: boolean }): { body: unknown; contentType: string | null } {
  const { type, charset } = mediaType(req);
  if (!route.body) {
    if (hasBody(req)) throw new KnotError(ErrorType.Validation, 'this endpoint takes no request body', { errors: [{ path: '(body)', message: 'not allowed' }] });
    return { body: undefined, contentType: null };
  }
  const accepted = Object.keys(route.body);
  if (!hasBody(req)) {
    if (route.bodyRequired) {
      if (type !== null && !accepted.includes(type)) throw unsupported(type, accepted);
      throw new KnotError(ErrorType.Validation, `a request body (${accepted.join(' or ')}) is required`, { errors: [{ path: '(body)', message: 'is required' }] });
    }
    const schema = route.body[accepted[0] ?? 'application/json'];
    return { body: schema ? parseOrThrow(schema, {}, 'request body') : {}, contentType: null };
  }
  if (type === null || !accepted.includes(type)) throw unsupported(type, accepted);
  if (charset !== null && charset !== 'utf-8' && charset !== 'utf8') {
    throw new KnotError(ErrorType.UnsupportedMediaType, `charset '${charset}' is not supported; send UTF-8`);
  }
  const parsed = parseJsonBody(req.body as Buffer);
  return { body: parseOrThrow(route.body[type]!, parsed, 'request body'), contentType: type };
}

function unsupported(type: string | null, accepted: string[]): KnotError {
  return new KnotError(ErrorType.UnsupportedMediaType, `Content-Type ${type ?? '(none)'} is not supported here; send ${accepted.join(' or ')}`, {
    details: { accepted },
  });
}

function readQuery(req: Request, schema: z.ZodType | undefined): unknown {
  const q = req.query as Record<string, unknown>;
  if (!schema) {
    const keys = Object.keys(q);
    if (keys.length) {
      throw new KnotError(ErrorType.Validation, `unknown query parameter(s): ${keys.join(', ')}`, { errors: keys.map((k) => ({ path: `query.${k}`, message: 'unknown query parameter' })) });
    }
    return {};
  }
  return parseOrThrow(schema, q, 'query', 'query');
}

function send(res: Response, reply: Reply): void {
  if (reply.streamed) return;
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  res.status(reply.status);
  if (reply.body === undefined) {
    res.end();
    return;
  }
  res.type(reply.contentType ?? 'application/json').send(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
}

/** Sends an error as problem+json, logging unexpected ones with their stack. */
export function replyWithError(req: Request, res: Response, svc: Pick<Services, 'logger'>, e: unknown): KnotError {
  const { error, unexpected } = toKnotError(e);
  if (unexpected) svc.logger.error({ err: e, requestId: (req as { id?: unknown }).id }, 'request failed');
  const headers: Record<string, string> = {};
  const retryAfter = error.details.retryAfter;
  if (typeof retryAfter === 'number') headers['Retry-After'] = String(retryAfter);
  else if (error.status === 503) headers['Retry-After'] = '5';
  sendProblem(res, problemOf(error, req), headers);
  return error;
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'ok';
  return status >= 500 ? 'failed' : 'refused';
}

async function writeAudit(svc: Services, actor: Actor, action: string, resourceType: string, scope: AuditScope, status: number, error?: KnotError): Promise<void> {
  try {
    await svc.store.audit.append({
      at: svc.now(),
      actorId: actor.user.id,
      actor: actor.user.username,
      action,
      resourceType,
      resourceId: scope.resourceId,
      outcome: outcomeOf(status),
      detail: { ...scope.detail, status, ...(error ? { error: error.type, message: error.message.slice(0, 500) } : {}) },
    });
  } catch (e) {
    // the answer matters more than its audit row; an outage is logged and the request answered
    svc.logger.error({ err: e, action, resourceType }, 'could not write the audit log');
  }
}

/** The documentation part every route declaration shares (it feeds the OpenAPI document). */
function routeDocs(spec: RouteDocs): RouteDocs {
  return {
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    tag: spec.tag,
    ...(spec.description ? { description: spec.description } : {}),
    responses: spec.responses,
  };
}

export function defineRoute<B = undefined, Q = Record<string, never>>(spec: RouteSpec<B, Q>): RouteDef {
  // once per route, not per request
  const idParam = spec.audit?.resourceIdParam ?? pathParams(spec.path)[0];
  const def: RouteDef = {
    ...routeDocs(spec),
    auth: spec.auth,
    ...(spec.body ? { body: spec.body as Record<string, z.ZodType> } : {}),
    bodyRequired: spec.bodyRequired ?? spec.body !== undefined,
    ...(spec.query ? { query: spec.query as z.ZodType } : {}),
    ...(spec.audit ? { audit: { action: spec.audit.action, resourceType: spec.audit.resourceType } } : {}),
    async handle(req, res, svc) {
      let actor: Actor | null = null;
      const params = { ...(req.params as Record<string, string>) };
      const audit: AuditScope = { resourceId: idParam ? (params[idParam] ?? null) : null, detail: {} };
      try {
        actor = await authenticate(req, svc);
        if (spec.auth === 'admin') requireAdmin(actor);
        const query = readQuery(req, spec.query) as Q;
        const { body, contentType } = readBody(req, def);
        const reply = await spec.handler({ req, res, svc, actor, params, body: body as B, contentType, query, audit });
        if (spec.audit) await writeAudit(svc, actor, spec.audit.action, spec.audit.resourceType, audit, reply.status);
        send(res, reply);
      } catch (e) {
        if (res.headersSent) {
          svc.logger.error({ err: e }, 'error after the response was sent');
          return;
        }
        const { error } = toKnotError(e);
        if (actor && (spec.audit || error.type === ErrorType.Forbidden)) {
          await writeAudit(svc, actor, spec.audit?.action ?? `${spec.method} ${spec.path}`, spec.audit?.resourceType ?? spec.tag, audit, error.status, error);
        }
        replyWithError(req, res, svc, e);
      }
    },
  };
  return def;
}

export function definePublicRoute<Q = Record<string, never>, B = undefined>(spec: PublicRouteSpec<Q, B>): RouteDef {
  const bodies = spec.body as Record<string, z.ZodType> | undefined;
  return {
    ...routeDocs(spec),
    auth: 'none',
    ...(bodies ? { body: bodies } : {}),
    bodyRequired: bodies !== undefined,
    ...(spec.query ? { query: spec.query as z.ZodType } : {}),
    async handle(req, res, svc) {
      try {
        const query = readQuery(req, spec.query) as Q;
        const { body } = readBody(req, { ...(bodies ? { body: bodies } : {}), bodyRequired: bodies !== undefined });
        send(res, await spec.handler({ req, res, svc, query, body: body as B }));
      } catch (e) {
        if (!res.headersSent) replyWithError(req, res, svc, e);
      }
    },
  };
}

export function mount(def: RouteDef, svc: Services): [HttpMethod, string, RequestHandler] {
  return [def.method, def.path, (req, res) => def.handle(req, res, svc)];
}
