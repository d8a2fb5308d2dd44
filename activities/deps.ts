/** What activities need from the outside world, injected so they are testable without a worker. */
import type { Logger } from 'pino';
import type { NomadClient } from '../nomad/client';
import type { Clock } from '../store/clock';
import type { AgentStateStore, Store } from '../store/store';
import type { OperationRequest } from '../core/lifecycle';
import type { Operation } from '../store/model';

/** What the auto-stop sweep needs from the LifecycleClient. */
export interface SweepLifecycle {
  startOperation(req: OperationRequest): Promise<{ id: string }>;
}

/** What the cleanup sweep asks Temporal about a stuck operation (temporal/operation-workflow.ts). */
export interface SweepWorkflows {
  /** Whether the operation's workflow run is still open. */
  isRunning(op: Pick<Operation, 'id' | 'workflowId' | 'runId'>): Promise<boolean>;
}
import type { KnotMetrics } from '../metrics/metrics';

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
}
