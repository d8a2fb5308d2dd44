/** What the webhook workflows (and the web UI) share with the rest; free of Node modules (workflow code imports it). */

/** What an endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'space.created',
  'space.started',
  'space.stopped',
  'space.updated',
  'space.deleted',
  'space.failed',
  'operation.finished',
  'space.agent.connected',
  'space.agent.disconnected',
  'space.shared',
  'space.transferred',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The signal that hands a delivery (its id) to its queue workflow. */
export const WEBHOOK_DELIVER_SIGNAL = 'deliver';

/** The retry schedule of a delivery (the queue workflow's activity retry policy). */
export interface WebhookRetry {
  initialMs: number;
  maxIntervalMs: number;
  /** retried until this long after the first attempt */
  forMs: number;
  attemptTimeoutMs: number;
  /** an attempt whose worker died is retried after this long (absent: after its start-to-close timeout) */
  heartbeatTimeoutMs?: number;
}

/** The queue workflow of one (endpoint, space): readable in the Temporal UI. */
export function webhookQueueWorkflowId(endpointId: string, queueKey: string): string {
  return `webhook-${endpointId}-${queueKey}`;
}

/** The dispatcher: one per task queue. */
export function webhookDispatcherWorkflowId(taskQueue: string): string {
  return `webhook-dispatcher-${taskQueue}`;
}
