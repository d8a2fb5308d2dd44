/**
 * The one place a knot backend is put together: the activities' dependencies, the LifecycleClient
 * over the same store and Temporal client, and the worker that runs those activities. `knot
 * server/worker/dev` (cli/processes.ts, through `backendFromConfig`), the test harness and the
 * benchmarks all build it here, so a new dependency is added once. What differs between them
 * (settings, Nomad timeouts, poll interval, a silent logger, metrics, the agent-state store) is a
 * part or an option whose default is what production uses.
 */
import type Redis from 'ioredis';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { loadConfig, parseDurationMs, type KnotConfig } from '../core/config';
import type { ActivityDeps, ServerSettings, WebhookDeps } from '../activities/deps';
import { systemClock, type Clock } from '../store/clock';
import { createAgentStateStore } from '../store/agent-state';
import { renderSettingsOf } from '../store/render-context';
import type { AgentStateStore, Store } from '../store/store';
import { NomadClient } from '../nomad/client';
import type { KnotMetrics } from '../metrics/metrics';
import { createLifecycleClient, type LifecycleClient } from '../temporal/lifecycle-client';
import { temporalSweepWorkflows } from '../temporal/operation-workflow';
import { webhookEnqueuer } from '../temporal/webhook-client';
import { runKnotWorker, type RunningWorker, type WorkerSetup } from './worker';

export interface BackendParts {
  store: Store;
  nomad: NomadClient;
  /** the Temporal client the LifecycleClient (and the sweeps' workflow checks) go through */
  client: Client;
  taskQueue: string;
  settings: ServerSettings;
  /** the activities' logger */
  logger: Logger;
  /** default: the wall clock */
  clock?: Clock;
  /** how long an operation may run before the cleanup sweep fails it; default: the LifecycleClient's */
  operationDeadline?: string;
  /** ActivityDeps.pollIntervalMs; default: the activities' own (100 ms) */
  pollIntervalMs?: number;
  /** default: the store's own (the activities' fallback) */
  agentState?: AgentStateStore;
  /** default: nothing is recorded */
  metrics?: KnotMetrics;
  /**
   * Whether the sweep activities get the LifecycleClient (auto-stop starts stops through it) and
   * Temporal (cleanup asks whether a stuck operation's workflow still runs). Default true, as the
   * worker runs them; the test harness leaves them out unless a test asks for them.
   */
  sweepsThroughTemporal?: boolean;
  /** lifecycle webhook settings; default: the configuration's defaults */
  webhooks?: WebhookSettings;
}

/** `server.webhooks` as the worker's webhook activities take it. */
export type WebhookSettings = Omit<WebhookDeps, 'enqueue'>;

/** How the worker runs; the deps and the task queue come from the backend. */
export type BackendWorkerOptions = Omit<WorkerSetup, 'deps' | 'taskQueue'>;

export interface Backend {
  taskQueue: string;
  lifecycle: LifecycleClient;
  /** the object the worker's activities read: a test may swap a part before it starts the worker */
  deps: ActivityDeps;
  /** Creates and runs a worker for `deps` on `taskQueue`; a run that ends with an error goes to `onError`. */
  runWorker(opts: BackendWorkerOptions, onError?: (e: unknown) => void): Promise<RunningWorker>;
}

export function createBackend(parts: BackendParts): Backend {
  const { store, client, taskQueue } = parts;
  const lifecycle = createLifecycleClient(client, store, { taskQueue, ...(parts.operationDeadline !== undefined ? { operationDeadline: parts.operationDeadline } : {}) });
  const deps: ActivityDeps = {
    store,
    nomad: parts.nomad,
    settings: parts.settings,
    logger: parts.logger,
    clock: parts.clock ?? systemClock,
    ...(parts.pollIntervalMs !== undefined ? { pollIntervalMs: parts.pollIntervalMs } : {}),
    ...(parts.sweepsThroughTemporal !== false ? { lifecycle, workflows: temporalSweepWorkflows(client) } : {}),
    ...(parts.agentState ? { agentState: parts.agentState } : {}),
    ...(parts.metrics ? { metrics: parts.metrics } : {}),
    webhooks: { ...(parts.webhooks ?? webhookSettings(loadConfig('', {}))), enqueue: webhookEnqueuer(client, taskQueue) },
  };
  return {
    taskQueue,
    lifecycle,
    deps,
    runWorker: (opts, onError) => runKnotWorker({ ...opts, taskQueue, deps }, onError),
  };
}

/** The parts configuration decides; `knot server`, `knot worker` and `knot dev` build through this. */
export interface ConfiguredParts {
  store: Store;
  redis: Redis | null;
  client: Client;
  /** the Nomad address in use (`knot dev` may have started the sandbox instead of `server.nomad.addr`) */
  nomadAddr: string;
  logger: Logger;
  metrics: KnotMetrics;
}

/** The configured backend; its agent-state store (Redis or SQL, as configured) is the API's too. */
export function backendFromConfig(cfg: KnotConfig, parts: ConfiguredParts): Backend & { agentState: AgentStateStore } {
  const agentState = createAgentStateStore(cfg, parts.store, parts.redis);
  const backend = createBackend({
    store: parts.store,
    nomad: openNomad(cfg, parts.nomadAddr, parts.metrics),
    client: parts.client,
    taskQueue: cfg.server.temporal.task_queue,
    settings: serverSettings(cfg),
    logger: parts.logger.child({ part: 'activities' }),
    operationDeadline: cfg.server.operation_deadline,
    agentState,
    metrics: parts.metrics,
    webhooks: webhookSettings(cfg),
  });
  return { ...backend, agentState };
}

export function openNomad(cfg: KnotConfig, addr = cfg.server.nomad.addr, metrics?: KnotMetrics): NomadClient {
  return new NomadClient({
    ...(metrics ? { onResponse: metrics.recordNomadCall } : {}),
    addr,
    token: cfg.server.nomad.token || undefined,
    region: cfg.server.nomad.region || undefined,
    namespace: cfg.server.nomad.namespace,
    timeoutMs: parseDurationMs(cfg.server.nomad.timeout),
  });
}

export function serverSettings(cfg: KnotConfig): ServerSettings {
  return { ...renderSettingsOf(cfg), nomadNamespace: cfg.server.nomad.namespace };
}

export function webhookSettings(cfg: KnotConfig): WebhookSettings {
  const w = cfg.server.webhooks;
  return {
    allowPrivateNetworks: w.allow_private_networks,
    retry: { initialMs: parseDurationMs(w.retry_initial), maxIntervalMs: 3600_000, forMs: parseDurationMs(w.retry_for), attemptTimeoutMs: parseDurationMs(w.attempt_timeout), heartbeatTimeoutMs: parseDurationMs(w.heartbeat_timeout) },
    disableAfterMs: parseDurationMs(w.disable_after),
  };
}
