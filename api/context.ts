/** What the API is built from (injected, so tests run it against real stores and real Temporal). */
import type { Logger } from 'pino';
import type { KnotConfig } from '../core/config';
import type { Store, AgentStateStore } from '../store/store';
import type { Operation, Space, User } from '../store/model';
import type { OperationGuard, OperationRequest } from '../temporal/lifecycle-client';
import type { CreateSpaceInput } from '../core/lifecycle';
import type { AuthFailureLimiter } from './rate-limit';
import type { KnotMetrics } from '../metrics/metrics';
import type { EventHub, EventStreamOptions } from './event-stream';

/** The part of temporal/lifecycle-client's LifecycleClient the API uses. */
export interface LifecyclePort {
  /** `guard` runs in the store transaction that records the operation (quota checks) */
  startOperation(req: OperationRequest, guard?: OperationGuard): Promise<Operation>;
  createSpace(input: Omit<CreateSpaceInput, 'operationId'>, ownerName: string, templateName: string): Promise<{ space: Space; operation: Operation }>;
  /** asks Temporal to cancel the operation's workflow run (it compensates and records `cancelled`) */
  cancelOperation?(op: Operation): Promise<void>;
}

/**
 * Authenticates a request without a bearer token (the web UI's session cookie); null = not signed
 * in. Left as a hook: the web UI brings the session store.
 */

/** Nomad's `/v1/jobs/parse`: resolves for a job that parses, throws (NomadError) for one that doesn't. */
export interface JobParser {
  parseJob(hcl: string): Promise<unknown>;
}

export interface HealthChecks {
  /** name → check; a check that throws, answers false or takes too long counts as down */
  checks: Record<string, () => Promise<boolean>>;
  timeoutMs?: number;
  /** which store holds knot's data (sqlite, mysql, redis), shown by /health */
  store?: string;
}

export interface AppDeps {
  store: Store;
  config: KnotConfig;
  logger: Logger;
  lifecycle: LifecyclePort;
  nomad: JobParser;
  health: HealthChecks;
  /** the built web UI's folder; default dist/web when built, null = no web UI */
  webRoot?: string | null;
  /** the agent downloads' folder (GET /agent/); default dist/agent-downloads when built, null = not served */
  agentRoot?: string | null;
  /** agent reports (Redis or SQL); the store's own when not given */
  agentState?: AgentStateStore;
  clock?: () => number;
  newId?: () => string;
  /** failed authentications per address (and per token prefix) before failures answer 429; default 20 per minute */
  authFailures?: { max: number; windowMs: number };
  /** what GET /metrics shows; `knot dev` passes the worker's too (one registry). A fresh one when not given */
  metrics?: KnotMetrics;
  /** the live event stream's timings and limits */
  events?: EventStreamOptions;
  /** agent link heartbeat timings (tests shorten them); default link/protocol.ts */
  agentLinks?: { heartbeatMs: number; deadAfterMs: number };
  /** called after a user's SSH keys were added or removed (pushes them to the user's running agents) */
  sshKeysChanged?: (userId: string) => void;
}

/** Resolved dependencies every handler sees: the injected ones, with every default filled in. */
export interface Services extends Pick<AppDeps, 'store' | 'config' | 'logger' | 'lifecycle' | 'nomad' | 'health' | 'sshKeysChanged'> {
  agentState: AgentStateStore;
  now: () => number;
  newId: () => string;
  limiter: AuthFailureLimiter;
  metrics: KnotMetrics;
  events: EventHub;
  /**
   * Who may reach a space changed (a share added or revoked, a transfer): the API server
   * (api/server.ts) pushes the SSH keys again and closes the sessions of users who lost access.
   */
  spaceAccessChanged?: (spaceId: string) => Promise<number>;
}

/** The authenticated caller. */
export interface Actor {
  user: User;
  /** the API token the request came with; null for a browser session */
  tokenId: string | null;
  /** the web session the request came with; null for a bearer token */
  sessionId: string | null;
  /** names of the groups the user belongs to */
  groups: string[];
  isAdmin: boolean;
}
