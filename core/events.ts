/**
 * What the live event stream carries. Workers (activities) and the API write events to the store;
 * every API instance tails the store and sends them as Server-Sent Events. Shared by the store, the
 * API and the typed client.
 */
import type { AgentStatus } from './agent-status';

export const EVENT_TYPES = [
  /** a step of an operation started, finished or is being retried */
  'operation.step',
  /** the operation reached a terminal status */
  'operation.finished',
  /** the space's phase changed */
  'space.phase',
  /** a new template version makes an update available (or the update was applied) */
  'space.update_available',
  'space.deleted',
  /** the space's agent linked, dropped its link, or was cut off (stop, delete): `agent` says how it is now */
  'space.agent',
  /** the space was given to another owner (POST /spaces/:id/transfer); recorded under the new owner */
  'space.transferred',
  /** who the space is shared with changed (a share added or revoked): GET /spaces/:id/shares says how it is now */
  'space.shared',
  /**
   * the SSH keys the space's agent accepts changed (its owner's, or a `user`-role recipient's):
   * every API replica pushes the new list to the agents it holds links of
   */
  'space.ssh_keys',
  /** a due autostart did not start the space: `error.message` says why (quota, template gone, already running) */
  'space.autostart_skipped',
  /** a dormant space (core/dormancy.ts) will be deleted: `error.message` says since when and at what time */
  'space.dormant',
] as const;
export type KnotEventType = (typeof EVENT_TYPES)[number];

export const STEP_OUTCOMES = ['running', 'succeeded', 'failed', 'cancelled', 'retrying'] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/** The JSON `data:` of one event. */
export interface KnotEvent {
  /** monotonic per store; the SSE `id:` */
  id: number;
  /** ISO-8601 time the event was recorded */
  at: string;
  type: KnotEventType;
  spaceId: string;
  spaceName: string | null;
  operationId: string | null;
  operationType: string | null;
  /** the space's phase when the event was recorded */
  phase: string | null;
  /** the operation's status (pending, running, succeeded, failed, cancelled) */
  status: string | null;
  /** the operation's current step */
  step: string | null;
  stepStatus: StepOutcome | null;
  /** a finished step's duration */
  durationMs: number | null;
  updateAvailable: boolean | null;
  error: { type: string; message: string } | null;
  /** `space.agent`: the agent's status at that moment; null on other events (and on events stored before it existed) */
  agent: AgentStatus | null;
}

/** Sent instead of a replay when the Last-Event-ID is older than the retained log: refetch. */
export interface ResetEvent {
  type: 'reset';
  reason: string;
  /** the oldest id still retained */
  oldestId: number | null;
}

/** Which step of which operation an activity performs (the workflow passes it with the input). */
export interface StepRef {
  operationId: string;
  spaceId: string;
  name: string;
  /** how to close a step still open when this one starts (a compensation after a cancel) */
  closeOpenAs?: 'failed' | 'cancelled';
}

/** What a writer says happened; the store adds the space's and the operation's facts when it records it. */
export interface EventFacts {
  type: KnotEventType;
  spaceId: string;
  /** undefined: the space's last operation */
  operationId?: string | null;
  step?: string | null;
  stepStatus?: StepOutcome | null;
  durationMs?: number | null;
  updateAvailable?: boolean | null;
  error?: { type: string; message: string } | null;
  agent?: AgentStatus | null;
}

/** The space as an event records it (the store's record at that moment, or null when it is gone). */
export interface EventSpace {
  name: string;
  ownerId: string;
  phase: string;
  lastOperationId: string | null;
}

/** The operation an event is about: the one the facts name, else the space's last one. */
export function eventOperationId(facts: EventFacts, space: EventSpace | null): string | null {
  return facts.operationId === undefined ? (space?.lastOperationId ?? null) : facts.operationId;
}

/** The event every store driver records for these facts (its id is the store's). */
export function eventData(facts: EventFacts, space: EventSpace | null, operation: { type: string; status: string } | null, now: number): Omit<KnotEvent, 'id'> {
  return {
    at: new Date(now).toISOString(),
    type: facts.type,
    spaceId: facts.spaceId,
    spaceName: space?.name ?? null,
    operationId: eventOperationId(facts, space),
    operationType: operation?.type ?? null,
    phase: space?.phase ?? null,
    status: operation?.status ?? null,
    step: facts.step ?? null,
    stepStatus: facts.stepStatus ?? null,
    durationMs: facts.durationMs ?? null,
    updateAvailable: facts.updateAvailable ?? null,
    error: facts.error ?? null,
    agent: facts.agent ?? null,
  };
}
