/**
 * Where each space's agent reports its state: `POST /api/v1/agents/:spaceId/state`. Agents do not
 * hold user tokens; each presents the token derived from the server secret and its own space id,
 * so one space's agent can never report for another.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RouteDef } from './route';
import { problems } from './schemas/common';
import type { KnotConfig } from '../core/config';
import { verifyAgentToken } from '../core/crypto';
import { ErrorType, KnotError, notFound } from '../core/errors';
import { isId } from '../core/names';
import type { AgentServices, AgentState } from '../store/model';
import type { Clock } from '../store/clock';
import type { AgentStateStore, Store } from '../store/store';
import { MAX_BODY_BYTES, parseJsonBody } from './json-body';
import { problemOf, sendProblem, toKnotError } from './problem';

export interface AgentRouterDeps {
  store: Store;
  agentState: AgentStateStore;
  config: KnotConfig;
  clock?: Clock;
}

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
  const router = Router();
  // the app reads every body raw; on a bare app this reads it (an already-read body is left alone)
  router.use('/api/v1/agents', express.raw({ type: () => true, limit: MAX_BODY_BYTES }));

  router.post('/api/v1/agents/:spaceId/state', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const spaceId = String(req.params.spaceId ?? '');
      const token = agentTokenOf(req);
      if (!token) throw unauthorized('an agent token is required (Authorization: Bearer <token> or X-Knot-Agent-Token)');
      // the same answer for a malformed id, another space's token and a forged one: nothing to probe
      if (!isId(spaceId) || !verifyAgentToken(deps.config.server.encrypt, spaceId, token)) {
        throw unauthorized('the agent token is not valid for this space');
      }
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
    sendProblem(res, problemOf(error, req), headers);
  });
  return router;
}

export interface AgentView {
  connected: boolean;
  lastSeen: string | null;
  lastActivity: string | null;
  services: AgentServices;
}

/** The agent part of a space's JSON view. */
export function agentView(state: AgentState | null): AgentView {
  if (!state) return { connected: false, lastSeen: null, lastActivity: null, services: {} };
  return {
    connected: state.connected,
    lastSeen: new Date(state.lastSeen).toISOString(),
    lastActivity: state.lastActivity === null ? null : new Date(state.lastActivity).toISOString(),
    services: state.services,
  };
}

/**
 * The agent route as the OpenAPI document describes it. It is served by `createAgentRouter` (its own
 * token scheme, not a user's), so this declaration is documentation only and is never mounted.
 */
export const agentStateRouteDoc: RouteDef = {
  method: 'post',
  path: '/api/v1/agents/:spaceId/state',
  summary: "The space's agent reports its services and last user activity",
  description:
    "Authenticated with the space's agent token (`Authorization: Bearer <token>` or `X-Knot-Agent-Token`), derived from the server key and the space id, so one space's agent cannot report for another.",
  tag: 'agents',
  auth: 'none',
  body: { 'application/json': agentReportSchema },
  bodyRequired: true,
  responses: { 204: { description: 'stored' }, ...problems(400, 401, 404, 413, 415, 503) },
  handle: async () => {
    throw new Error('documentation only: served by createAgentRouter');
  },
};
