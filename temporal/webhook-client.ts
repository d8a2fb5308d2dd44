/**
 * Starting the webhook workflows: the dispatcher (once per task queue, at every worker start) and
 * the hand-over of a delivery to its (endpoint, space) queue with signalWithStart — the queue
 * workflow is started when it is not running, and the signal lands in order either way.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { WEBHOOK_DELIVER_SIGNAL, webhookDispatcherWorkflowId, webhookQueueWorkflowId, type WebhookRetry } from '../core/webhook-queue';
import type { WebhookDispatcherInput } from '../workflows/webhooks';
import { workflowName } from './workflows';

export const WEBHOOK_WORKFLOWS = {
  dispatcher: workflowName('webhookDispatcherWorkflow'),
  queue: workflowName('webhookQueueWorkflow'),
} as const;

/** The enqueue function the worker's webhook activities call. */
export function webhookEnqueuer(client: Client, taskQueue: string) {
  return async (d: { id: string; endpointId: string; queueKey: string }, retry: WebhookRetry): Promise<void> => {
    await client.workflow.signalWithStart(WEBHOOK_WORKFLOWS.queue, {
      workflowId: webhookQueueWorkflowId(d.endpointId, d.queueKey),
      taskQueue,
      args: [{ endpointId: d.endpointId, queueKey: d.queueKey, retry }],
      signal: WEBHOOK_DELIVER_SIGNAL,
      signalArgs: [d.id],
      staticSummary: `webhook deliveries of ${d.queueKey === 'test' ? 'test events' : `space ${d.queueKey}`} to endpoint ${d.endpointId}`,
    });
  };
}

/** Starts the dispatcher unless it runs; whether this call started it. */
export async function ensureWebhookDispatcher(client: Client, taskQueue: string, input: WebhookDispatcherInput = {}): Promise<boolean> {
  try {
    await client.workflow.start(WEBHOOK_WORKFLOWS.dispatcher, {
      workflowId: webhookDispatcherWorkflowId(taskQueue),
      taskQueue,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      staticSummary: 'knot: follows the event log and hands lifecycle webhook deliveries to their queues',
    });
    return true;
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw e;
  }
}
