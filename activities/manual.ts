/** Manual spaces (seed 000): an agent the user runs elsewhere; start succeeds when it answers /ping. */
import { resolveSrv } from 'node:dns/promises';
import { ErrorType, KnotError } from '../core/errors';
import { pickSrvTarget } from '../core/srv';
import type { StepRef } from '../core/events';
import type { ActivityDeps } from './deps';

/** `srv+http://name` → `http://host:port` by DNS SRV (lowest priority, highest weight). */
export async function resolveAgentUrl(url: string, lookup: typeof resolveSrv = resolveSrv): Promise<string> {
  if (!url.startsWith('srv+')) return url;
  const inner = new URL(url.slice(4));
  const records = await lookup(inner.hostname);
  const best = pickSrvTarget(records);
  if (!best) throw new KnotError(ErrorType.AgentUnreachable, `no SRV record for ${inner.hostname}`, { retryable: true });
  inner.hostname = best.name;
  inner.port = String(best.port);
  return inner.toString().replace(/\/$/, '');
}

export function createManualActivities(deps: ActivityDeps) {
  const fetchFn = deps.fetch ?? fetch;
  return {
    async pingAgent(input: { agentUrl: string; step?: StepRef }): Promise<void> {
      const base = await resolveAgentUrl(input.agentUrl);
      let res: Response;
      try {
        res = await fetchFn(`${base.replace(/\/$/, '')}/ping`, { signal: AbortSignal.timeout(5000) });
      } catch (e) {
        throw new KnotError(ErrorType.AgentUnreachable, `agent at ${base} did not answer: ${(e as Error).message}`, { retryable: true });
      }
      // 4xx: wrong URL or not a knot agent — waiting will not fix it; 5xx: the agent is still booting
      if (!res.ok) throw new KnotError(ErrorType.AgentUnreachable, `agent at ${base} answered ${res.status} to /ping`, { retryable: res.status >= 500 });
    },
  };
}
