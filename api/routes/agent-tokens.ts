/**
 * The agent token of a manual space: the user runs the agent themselves, so knot cannot put a
 * token into its environment as it does for a job it registers. Issuing one replaces the last
 * (a lost token is revoked by asking for a new one); the secret is in the answer and never again.
 */
import { generateAgentToken, hashToken } from '../../core/crypto';
import { ErrorType, KnotError } from '../../core/errors';
import { defineRoute, type RouteDef } from '../route';
import { createdAgentTokenView } from '../schemas/agents';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { findVisibleSpace } from '../space-views';
import { API_BASE } from '../views';

export const agentTokenRoutes: RouteDef[] = [
  defineRoute({
    method: 'post',
    path: `${API_BASE}/spaces/:id/agent-token`,
    tag: 'spaces',
    summary: "Issue the agent token of a manual space (owner or admin); it replaces the earlier one and is shown once",
    description:
      'For spaces of a `manual` template only (409 otherwise: knot mints the token of a Nomad space into its job when it starts it). ' +
      'Run the agent with `KNOT_SERVER=<server url> KNOT_SPACEID=<space id> KNOT_AGENT_TOKEN=<token> knot agent`.',
    auth: 'user',
    audit: { action: 'agent_token.create', resourceType: 'space' },
    responses: { 201: { description: 'issued; `token` is the secret', schema: createdAgentTokenView }, ...problems(400, 403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', undefined, 'manage');
      audit.resourceId = space.id;
      const template = await svc.store.templates.get(space.templateId);
      if (template?.type !== 'manual') {
        throw new KnotError(ErrorType.Conflict, `space '${space.name}' runs a Nomad job: knot gives its agent a token when it starts it; only manual spaces take an issued one`);
      }
      const secret = generateAgentToken();
      const now = svc.now();
      const issued = await svc.store.agentTokens.issue({ id: svc.newId(), spaceId: space.id, kind: 'manual', tokenHash: hashToken(secret) }, now);
      audit.detail = { kind: 'manual' };
      return { status: 201, body: { token: secret, spaceId: space.id, createdAt: new Date(issued.createdAt).toISOString() }, headers: { 'Cache-Control': 'no-store' } };
    },
  }),
];
