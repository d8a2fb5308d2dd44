/** "Is this operation's workflow still running?", asked of Temporal in one place. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

export interface OperationRef {
  id: string;
  workflowId: string;
  /** null (or '') when the run was never recorded */
  runId: string | null;
}

/**
 * Whether the operation's workflow run is open. Without a run id the latest run of `space-<id>`
 * may be another operation's, so the run's memo must name this operation. An unknown workflow is
 * not running; any other error is thrown (the caller decides what is safe).
 */
export async function isOperationWorkflowRunning(client: Pick<Client, 'workflow'>, op: OperationRef): Promise<boolean> {
  try {
    const d = await client.workflow.getHandle(op.workflowId, op.runId || undefined).describe();
    if (d.status.name !== 'RUNNING') return false;
    return Boolean(op.runId) || (d.memo as { operationId?: string } | undefined)?.operationId === op.id;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/** The cleanup sweep's view of Temporal (activities/deps.ts SweepWorkflows). */
export function temporalSweepWorkflows(client: Pick<Client, 'workflow'>): { isRunning(op: OperationRef): Promise<boolean> } {
  return { isRunning: (op) => isOperationWorkflowRunning(client, op) };
}
