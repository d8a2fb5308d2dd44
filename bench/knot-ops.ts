/**
 * Driving knot the way the API does (LifecycleClient), timing each operation from the request to
 * the moment the workflow recorded the operation terminal (the row's finished_at, written by the
 * last activity with the same clock), and waiting for the workflow result without polling the store.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { newId } from '../core/names';
import type { Operation, OperationType } from '../store/model';
import type { OperationGuard } from '../temporal/lifecycle-client';
import type { Backend } from './backend';
import type { OperationWaiter } from './operation-waiter';
import type { SeededTemplate, SeededUser } from './seed';

export interface TimedOperation {
  type: OperationType;
  ok: boolean;
  /** request → operation row terminal (finished_at) */
  latencyMs: number;
  /** wall clock ms when the request was made (Date.now) */
  requestedAt: number;
  operation: Operation | null;
  error?: string;
}

/** Runs the create workflow (LifecycleClient.createSpace runs it to completion, as POST /spaces does). */
export async function createSpace(b: Backend, user: SeededUser, template: SeededTemplate, name: string): Promise<{ spaceId: string; timed: TimedOperation }> {
  const spaceId = newId(Date.now());
  const requestedAt = Date.now();
  try {
    const { operation } = await b.lifecycle.createSpace(
      { spaceId, name, ownerId: user.id, templateId: template.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: user.id },
      user.username,
      template.name,
    );
    return { spaceId, timed: { type: 'create', ok: operation.status === 'succeeded', latencyMs: (operation.finishedAt ?? Date.now()) - requestedAt, requestedAt, operation } };
  } catch (e) {
    return { spaceId, timed: { type: 'create', ok: false, latencyMs: Date.now() - requestedAt, requestedAt, operation: null, error: (e as Error).message } };
  }
}

/** Starts an operation and waits until its workflow has finished. */
export async function runOperation(
  b: Backend,
  req: { spaceId: string; type: Exclude<OperationType, 'create'>; user: SeededUser; templateName: string },
  /** built after the request is made (so building it is timed), run in the insert's transaction, as the API does */
  guard?: () => Promise<OperationGuard>,
  /** wait through knot's event log as its clients do (default: the workflow's result, a Temporal long poll) */
  waiter?: OperationWaiter,
): Promise<TimedOperation> {
  const requestedAt = Date.now();
  try {
    const op = await b.lifecycle.startOperation({ spaceId: req.spaceId, type: req.type, requestedBy: req.user.id, ownerName: req.user.username, templateName: req.templateName }, guard ? await guard() : undefined);
    if (waiter) {
      await waiter.finishedEvent(op.id);
    } else {
      try {
        await b.client.workflow.getHandle(op.workflowId).result();
      } catch (e) {
        if (!(e instanceof WorkflowFailedError)) throw e;
      }
    }
    const done = await b.store.operations.get(op.id);
    const ok = done?.status === 'succeeded';
    return {
      type: req.type,
      ok,
      latencyMs: (done?.finishedAt ?? Date.now()) - requestedAt,
      requestedAt,
      operation: done,
      ...(ok ? {} : { error: `${done?.status ?? 'missing'}: ${done?.errorType ?? ''} ${done?.errorMessage ?? ''}`.trim() }),
    };
  } catch (e) {
    return { type: req.type, ok: false, latencyMs: Date.now() - requestedAt, requestedAt, operation: null, error: (e as Error).message };
  }
}
