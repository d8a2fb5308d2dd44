/**
 * The HTTP alias of the agent link: `POST /api/v1/agents/:spaceId/state`, for agents that report
 * without holding a link. Agents do not hold user tokens; each presents its space's agent token
 * (minted when the job was registered, or issued for a manual space), looked up by its sha256 and
 * bound to that space, so one space's agent can never report for another and a stopped space's
 * token no longer works. Failures count against the client address like user tokens' do.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RouteDef } from './route';
import { problems } from './schemas/common';
import { agentStatus, type AgentStatus, type SpaceForAgentStatus } from '../core/agent-status';
import type { KnotConfig } from '../core/config';
import { hashToken } from '../core/crypto';
import { ErrorType, KnotError, notFound } from '../core/errors';
import { isId } from '../core/names';
import type { AgentState } from '../store/model';
import type { Clock } from '../store/clock';
import type { AgentStateStore, Store } from '../store/store';
import { clientIp, rateLimited } from './auth';
import { MAX_BODY_BYTES, parseJsonBody } from './json-body';
import { problemOf, sendProblem, toKnotError } from './problem';
import { AuthFailureLimiter } from './rate-limit';

export interface AgentRouterDeps {
  store: Store;
  agentState: AgentStateStore;
  config: KnotConfig;
  clock?: Clock;
  /** the app's limiter (svc.limiter), so agent and user failures from one address add up; a private one when not given */
  limiter?: AuthFailureLimiter;
}

/** Every agent token starts `knot_agent_`: the characters after it tell tokens apart for the limiter. */
/** Agent tokens all start `knot_agent_`: the limiter keys on a few characters more, or every agent would share one key. */
export const AGENT_TOKEN_PREFIX_LENGTH = 'knot_agent_'.length + 4;

export const agentReportSchema = z
  .object({
    services: z
      .object({
        ssh: z.boolean().optional(),
        codeServer: z.boolean().optional(),
        terminal: z.boolean().optional(),
        ports: z.array(z.number().int().min(1).max(65535)).max(256).optional(),
      })
      .strict(),
    /** ms since the epoch */
    lastActivity: z.number().int().nonnegative().optional(),
  })
  .strict();

export type AgentReportBody = z.infer<typeof agentReportSchema>;

/** `Authorization: Bearer <token>` or `X-Knot-Agent-Token: <token>`; null when neither is given. */
export function agentTokenOf(req: Pick<Request, 'headers'>): string | null {
  const header = req.headers['x-knot-agent-token'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1] ?? null;
}

function unauthorized(detail: string): KnotError {
  return new KnotError(ErrorType.Unauthorized, detail);
}

function bodyOf(req: Request): unknown {
  if (Buffer.isBuffer(req.body)) {
    if (req.body.length === 0) throw new KnotError(ErrorType.Validation, 'request body is empty; send a JSON object', { errors: [{ path: '(body)', message: 'required' }] });
    return parseJsonBody(req.body);
  }
  return req.body;
}

export function createAgentRouter(deps: AgentRouterDeps): Router {
  const now = deps.clock ?? Date.now;
  const limiter = deps.limiter ?? new AuthFailureLimiter({ maxFailures: 20, windowMs: 60_000, now });
  const router = Router();
  // the app reads every body raw; on a bare app this reads it (an already-read body is left alone)
  router.use('/api/v1/agents', express.raw({ type: () => true, limit: MAX_BODY_BYTES }));

  router.post('/api/v1/agents/:spaceId/state', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const spaceId = String(req.params.spaceId ?? '');
      const token = agentTokenOf(req);
      const fail = (detail: string): never => {
        const wait = limiter.failed(clientIp(req), token ? token.slice(0, AGENT_TOKEN_PREFIX_LENGTH) : null);
        if (wait > 0) throw rateLimited(wait);
        throw unauthorized(detail);
      };
      if (!token) fail('an agent token is required (Authorization: Bearer <token> or X-Knot-Agent-Token)');
      // the same answer for a malformed id, a forged, revoked or replaced token and another
      // space's: nothing to probe. A valid token is checked first, so it passes even when limited.
      const held = isId(spaceId) ? await deps.store.agentTokens.findByHash(hashToken(token!)) : null;
      if (!held || held.spaceId !== spaceId) fail('the agent token is not valid for this space');
      const parsed = agentReportSchema.safeParse(bodyOf(req));
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
        throw new KnotError(ErrorType.Validation, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
      }
      const space = await deps.store.spaces.get(spaceId);
      if (!space || space.deletedAt) throw notFound('space', spaceId);
      const at = now();
      const body = parsed.data;
      // an agent clock ahead of the server's must not make a space look busy in the future
      const lastActivity = body.lastActivity === undefined ? undefined : Math.min(body.lastActivity, at);
      await deps.agentState.report(spaceId, { services: body.services, ...(lastActivity !== undefined ? { lastActivity } : {}) }, at);
      res.status(204).end();
    } catch (e) {
      next(e);
    }
  });

  router.use('/api/v1/agents', (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const { error } = toKnotError(err);
    const headers: Record<string, string> = error.type === ErrorType.Unauthorized ? { 'WWW-Authenticate': 'Bearer realm="knot-agent"' } : {};
    if (typeof error.details.retryAfter === 'number') headers['Retry-After'] = String(error.details.retryAfter);
    sendProblem(res, problemOf(error, req), headers);
  });
  return router;
}

/** The agent part of a space's JSON view and of `space.agent` events (core/agent-status.ts decides). */
export function agentView(space: SpaceForAgentStatus, state: AgentState | null, now: number): AgentStatus {
  return agentStatus(space, state, now);
}

/**
 * The agent route as the OpenAPI document describes it. It is served by `createAgentRouter` (its own
 * token scheme, not a user's), so this declaration is documentation only and is never mounted.
 */
export const agentStateRouteDoc: RouteDef = {
  method: 'post',
  path: '/api/v1/agents/:spaceId/state',
  summary: "The space's agent reports its services and last user activity (alias of the agent link)",
  description:
    "Kept for agents that report over plain HTTP; the agent link (a WebSocket the agent dials) supersedes it. Authenticated with the space's agent token " +
    '(`Authorization: Bearer <token>` or `X-Knot-Agent-Token`): the `start` token knot minted into the job\'s `KNOT_AGENT_TOKEN` when it registered it, or the `manual` token ' +
    'from `POST /api/v1/spaces/{id}/agent-token`. Tokens are random, stored as their sha256, bound to one space and revoked when the job stops (start) or the space is deleted (all), ' +
    'so one space\'s agent cannot report for another. A malformed id, a forged, revoked or replaced token and another space\'s token all answer the same 401; ' +
    'failures count against the client address like user tokens\' and answer 429 (with Retry-After) past the limit.',
  tag: 'agents',
  auth: 'none',
  body: { 'application/json': agentReportSchema },
  bodyRequired: true,
  responses: { 204: { description: 'stored' }, ...problems(400, 401, 404, 413, 415, 429, 503) },
  handle: async () => {
    throw new Error('documentation only: served by createAgentRouter');
  },
};
