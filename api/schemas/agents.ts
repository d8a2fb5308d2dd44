/** The agent's status in a space's JSON and in `space.agent` events, and the manual agent token. */
import { z } from 'zod';
import { AGENT_LINK_STATES } from '../../core/agent-status';
import { isoTime, nullableIsoTime } from './common';

export const agentServicesView = z
  .object({
    ssh: z.boolean().optional(),
    codeServer: z.boolean().optional().describe("code-server's /healthz answers 200"),
    codeServerPort: z.number().int().optional().describe('where code-server listens, while codeServer: open it like any web port (an app host, else /spaces/<owner>/<space>/ports/<port>/)'),
    terminal: z.boolean().optional(),
    ports: z.array(z.number().int()).optional().describe('TCP ports listening inside the space'),
    httpPorts: z.array(z.number().int()).optional().describe('of those, the ports that answer HTTP (and the declared KNOT_HTTP_PORT ones): open them at /spaces/<owner>/<space>/ports/<port>/'),
    portNames: z.record(z.string(), z.string()).optional().describe('names of declared ports (KNOT_HTTP_PORT / KNOT_TCP_PORT "8080=web"), by port'),
  })
  .meta({ id: 'AgentServices' });

export const agentStatusView = z
  .object({
    state: z
      .enum(AGENT_LINK_STATES)
      .describe(
        'connecting: the space is starting or running and its agent has not linked since it started; connected: the link is up; ' +
          'disconnected: the link went down, or the space is not running; timeout: still not linked a while after the start (the agent probably cannot reach the server)',
      ),
    since: nullableIsoTime.describe('when the state began (null when unknown)'),
    version: z.string().nullable().describe("the agent's version"),
    /** only a connected agent offers anything */
    services: agentServicesView,
    sessions: z.number().int().describe('open terminal (and later SSH, port) sessions'),
    lastSeen: nullableIsoTime.describe('the last refresh of the link'),
    lastActivity: nullableIsoTime.describe('the last user activity the agent saw'),
    connected: z.boolean().describe("state === 'connected' (kept for earlier clients)"),
  })
  .meta({ id: 'AgentStatus' });

/** POST /spaces/:id/agent-token: shown once. */
export const createdAgentTokenView = z
  .object({
    token: z.string().describe('the secret: give it to the agent as KNOT_AGENT_TOKEN; never shown again'),
    spaceId: z.string(),
    createdAt: isoTime,
  })
  .meta({ id: 'CreatedAgentToken' });
