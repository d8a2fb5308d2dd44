/**
 * Who may link as a space's agent, through the lifecycle: the register activity mints a `start`
 * token for the job it registers; stopping the job revokes it; deleting the space revokes every
 * token. The token itself lives only inside the activity that mints it (and the job it registers):
 * nothing returned to a workflow carries it, so it never enters Temporal history.
 */
import { agentStatus } from '../core/agent-status';
import { generateAgentToken, hashToken } from '../core/crypto';
import { newId } from '../core/names';
import type { AgentTokenKind } from '../store/model';
import type { Job } from '../nomad/types';
import type { ActivityDeps } from './deps';

/** The agent finds the server and proves who it is through these (seed 000's job sets the other two). */
export const AGENT_TOKEN_ENV = 'KNOT_AGENT_TOKEN';
const SPACE_ID_ENV = 'KNOT_SPACEID';

/** Issues a fresh `start` token for the space (replacing the one an earlier attempt minted) and answers it. */
export async function mintStartToken(deps: Pick<ActivityDeps, 'store' | 'clock'>, spaceId: string): Promise<string> {
  const token = generateAgentToken();
  const now = deps.clock();
  await deps.store.agentTokens.issue({ id: newId(now), spaceId, kind: 'start', tokenHash: hashToken(token) }, now);
  return token;
}

/**
 * Sets the token in the env of every task that runs an agent — those whose env names the space
 * (`KNOT_SPACEID`), as seed 000's template does — so templates need no change to get one.
 */
export function injectAgentToken(job: Job, token: string): number {
  let injected = 0;
  for (const group of job.TaskGroups ?? []) {
    for (const task of group.Tasks ?? []) {
      if (task.Env && Object.hasOwn(task.Env, SPACE_ID_ENV)) {
        task.Env[AGENT_TOKEN_ENV] = token;
        injected++;
      }
    }
  }
  return injected;
}

/** A new start begins at `connecting`: whatever the last run's agent left says nothing about this one. */
export async function forgetAgentLink(deps: Pick<ActivityDeps, 'agentState'>, spaceId: string): Promise<void> {
  await deps.agentState?.forget([spaceId]);
}

/**
 * Revokes the space's tokens of `kind` (every kind when not given), marks its link down, and
 * announces the agent's status. Idempotent: a retry revokes nothing more and says the same.
 */
export async function cutOffAgent(deps: Pick<ActivityDeps, 'store' | 'clock' | 'agentState'>, spaceId: string, kind?: AgentTokenKind): Promise<void> {
  await deps.store.agentTokens.revokeForSpace(spaceId, kind);
  const now = deps.clock();
  if (deps.agentState) await deps.agentState.disconnected(spaceId, now);
  const space = await deps.store.spaces.get(spaceId);
  if (!space) return;
  const link = deps.agentState ? await deps.agentState.get(spaceId) : null;
  const agent = agentStatus({ phase: space.phase, startedAt: space.startedAt, updatedAt: space.updatedAt }, link, now);
  await deps.store.events.append({ type: 'space.agent', spaceId, agent }, now);
}
