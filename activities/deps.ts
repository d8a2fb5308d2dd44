/** What activities need from the outside world, injected so they are testable without a worker. */
import type { Logger } from 'pino';
import type { NomadClient } from '../nomad/client';
import type { Clock } from '../store/clock';
import type { AgentStateStore, Repositories, Store } from '../store/store';
import type { OperationRequest } from '../core/lifecycle';
import type { Operation } from '../store/model';

/** What the auto-stop and autostart sweeps need from the LifecycleClient. */
export interface SweepLifecycle {
  /** `guard` runs in the transaction that records the operation (the quota check of an autostart) */
  startOperation(req: OperationRequest, guard?: (tx: Repositories) => Promise<void>): Promise<{ id: string }>;
}

/** What the cleanup sweep asks Temporal about a stuck operation (temporal/operation-workflow.ts). */
export interface SweepWorkflows {
  /** Whether the operation's workflow run is still open. */
  isRunning(op: Pick<Operation, 'id' | 'workflowId' | 'runId'>): Promise<boolean>;
}
import type { KnotMetrics } from '../metrics/metrics';
import type { WebhookRetry } from '../core/webhook-queue';

export interface ServerSettings {
  url: string;
  wildcardDomain: string;
  agentEndpoint: string;
  /** base64 key for protected variables and password parameters; '' when not configured */
  encryptKey: string;
  nomadDatacenter: string;
  nomadRegion: string;
  nomadNamespace: string;
}

/** What the worker's webhook activities need besides the store. */
export interface WebhookDeps {
  allowPrivateNetworks: boolean;
  retry: WebhookRetry;
  /** an endpoint failing without a success for this long is disabled */
  disableAfterMs: number;
  /** hands deliveries of one (endpoint, queue), in order, to its workflow in one signal (temporal/webhook-client.ts) */
  enqueue(lane: { endpointId: string; queueKey: string; ids: string[] }, retry: WebhookRetry): Promise<void>;
  /** how long a hole in the event ids is waited for before the dispatcher goes past it */
  gapGraceMs?: number;
  /** the dispatcher's own first attempt at a lane with nothing outstanding (activities/webhooks.ts handOver); default on */
  inlineFirstAttempt?: boolean;
}

export interface ActivityDeps {
  store: Store;
  nomad: NomadClient;
  settings: ServerSettings;
  logger: Logger;
  clock: Clock;
  /** how often waits poll Nomad when blocking queries return early */
  pollIntervalMs?: number;
  /** GET <agentUrl>/ping for manual spaces; injectable for tests */
  fetch?: typeof fetch;
  /** the auto-stop sweep starts stops through this (the worker passes its LifecycleClient) */
  lifecycle?: SweepLifecycle;
  /** agent reports for the idle rule; the store's own when not given */
  agentState?: AgentStateStore;
  /** lets the cleanup sweep ask Temporal whether a stuck operation's workflow still runs */
  workflows?: SweepWorkflows;
  /** step durations, sweep results, operations started/finished; nothing is recorded without it */
  metrics?: KnotMetrics;
  /** lifecycle webhooks (the dispatcher hands deliveries to Temporal through it); their activities fail without it */
  webhooks?: WebhookDeps;
  /**
   * Aborted when this worker begins to stop: long-polling activities (the webhook dispatcher) return
   * at once instead of holding the worker's drain until its grace time cancels them.
   */
  stopping?: AbortSignal;
}
