/**
 * The whole stack a space's agent talks to, for tests: the API (with short link heartbeats), a
 * worker on the Temporal dev server, the Nomad sandbox, a store; the seed template; two users.
 * `runningSpace` starts a space and runs its real `knot agent` process with the task's env.
 */
import type { Space } from '../../client';
import type { StoreKind } from './db';
import { startHarness as startBackend, type Harness as Backend } from './harness';
import { seedTemplate, startHarness as startApi, type Harness as Api, type HarnessOptions } from '../integration/api/harness';
import { agentTaskEnv, spawnAgent, type AgentProcess } from './agent-process';
import { until } from './wait';

export const TEST_LINK_TIMINGS = { heartbeatMs: 300, deadAfterMs: 1200 };

export interface AgentStack {
  backend: Backend;
  api: Api;
  alice: string;
  bob: string;
  space(id: string, token?: string): Promise<Space>;
  settled(id: string, phase: string, token?: string): Promise<Space>;
  agentState(id: string, want: string, timeoutMs?: number): Promise<Space>;
  /** a started space of alice's and its task's env (KNOT_AGENT_TOKEN included) */
  startedSpace(name: string, body?: Record<string, unknown>): Promise<{ id: string; env: Record<string, string> }>;
  /** a started space with its agent linked */
  runningSpace(name: string, body?: Record<string, unknown>): Promise<{ id: string; env: Record<string, string>; agent: AgentProcess }>;
  spawnAgent(env: Record<string, string>, extra?: Record<string, string>): AgentProcess;
  /** closes the API and starts it again on the same port (agents dial the same URL) */
  restartApi(): Promise<void>;
  /** another API replica on the same store (its own port and processes' state; closed with the stack) */
  replicaApi(): Promise<Api>;
  close(): Promise<void>;
}

export async function startAgentStack(kind: StoreKind = 'sqlite', opts: Partial<HarnessOptions> = {}, backendOpts: Parameters<typeof startBackend>[1] = {}): Promise<AgentStack> {
  const backend = await startBackend(kind, backendOpts);
  const apiOptions = (port?: number): HarnessOptions => ({
    backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle },
    config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey },
    agentLinks: TEST_LINK_TIMINGS,
    events: { pollIntervalMs: 25 },
    ...opts,
    ...(port !== undefined ? { port } : {}),
  });
  let api = await startApi(kind, apiOptions());
  const port = Number(new URL(api.url).port);
  await api.client.createTemplate(seedTemplate() as never);
  const alice = (await api.user('alice')).token;
  const bob = (await api.user('bob')).token;
  const agents: AgentProcess[] = [];
  const replicas: Api[] = [];

  const stack: AgentStack = {
    backend,
    get api() {
      return api;
    },
    alice,
    bob,
    space: (id, token = alice) => api.client.as(token).getSpace(id),
    settled: (id, phase, token = alice) =>
      until(`space ${id} ${phase}`, async () => {
        const s = await stack.space(id, token);
        return s.status.phase === phase && s.status.lastOperation?.status === 'succeeded' ? s : null;
      }),
    agentState: (id, want, timeoutMs = 20_000) =>
      until(`agent of ${id} to be ${want}`, async () => {
        const s = await stack.space(id);
        return s.status.agent.state === want ? s : null;
      }, timeoutMs, 50),
    async startedSpace(name, body = {}) {
      const created = await api.client.as(alice).createSpace({ name, template: 'example', ...body } as never);
      await api.client.as(alice).startSpace(created.id);
      const running = await stack.settled(created.id, 'running');
      return { id: created.id, env: await agentTaskEnv(backend.sandbox.url, running.status.nomadJobId!) };
    },
    async runningSpace(name, body = {}) {
      const { id, env } = await stack.startedSpace(name, body);
      const agent = stack.spawnAgent(env);
      await stack.agentState(id, 'connected').catch((e: Error) => {
        throw new Error(`${e.message}\nagent output:\n${agent.output()}`);
      });
      await until('the terminal service', async () => (await stack.space(id)).status.agent.services.terminal === true);
      return { id, env, agent };
    },
    spawnAgent(env, extra = {}) {
      const a = spawnAgent(env, api.url, extra);
      agents.push(a);
      return a;
    },
    async restartApi() {
      await api.close();
      api = await startApi(kind, apiOptions(port));
    },
    async replicaApi() {
      const replica = await startApi(kind, apiOptions());
      replicas.push(replica);
      return replica;
    },
    async close() {
      for (const a of agents) await a.stop();
      for (const r of replicas) await r.close();
      await api.close();
      await backend.close();
    },
  };
  return stack;
}
