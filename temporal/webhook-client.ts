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
  return async (lane: { endpointId: string; queueKey: string; ids: string[] }, retry: WebhookRetry): Promise<void> => {
    await client.workflow.signalWithStart(WEBHOOK_WORKFLOWS.queue, {
      workflowId: webhookQueueWorkflowId(lane.endpointId, lane.queueKey),
      taskQueue,
      args: [{ endpointId: lane.endpointId, queueKey: lane.queueKey, retry }],
      signal: WEBHOOK_DELIVER_SIGNAL,
      // the whole lane in one signal: one history event however many deliveries it carries
      signalArgs: [lane.ids],
      staticSummary: `webhook deliveries of ${lane.queueKey === 'test' ? 'test events' : `space ${lane.queueKey}`} to endpoint ${lane.endpointId}`,
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
