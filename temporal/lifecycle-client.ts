/**
 * How the API (and schedules) ask for a lifecycle change: record the operation, start the workflow
 * under the space's workflow id, and turn Temporal's answers into knot's typed errors. The API never
 * changes a space any other way.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TimeoutFailure, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type TypedSearchAttributes } from '@temporalio/common';
import { configSchema, parseDurationMs } from '../core/config';
import { ErrorType, KnotError, isErrorType } from '../core/errors';
import { newId } from '../core/names';
import { readFailureChain, summarizeChain } from '../core/failure-chain';
import type { CreateSpaceInput, LifecycleInput, OperationRequest, OperationType } from '../core/lifecycle';
import type { Repositories, Store } from '../store/store';
import type { Operation, Space } from '../store/model';
import { SearchAttributes, spaceWorkflowId } from './names';
import { isOperationWorkflowRunning } from './operation-workflow';
import { LIFECYCLE_WORKFLOWS } from './workflows';

/** How long a `pending` operation without a run may be in flight before it counts as never started. */
const NEVER_STARTED_AFTER_MS = 5_000;
/** How often a request that meets a young `pending` operation without a run looks again. */
const NEVER_STARTED_POLL_MS = 200;

export type { OperationRequest } from '../core/lifecycle';

/**
 * Runs inside the store transaction that records the operation, before the insert (the quota
 * check, api/quota-check.ts): throwing refuses the request with nothing written.
 */
export type OperationGuard = (tx: Repositories) => Promise<void>;

export interface LifecycleClientOptions {
  taskQueue: string;
  /** an operation still pending/running after this long is failed by the cleanup sweep (`server.operation_deadline`) */
  operationDeadlineMs: number;
  newId: () => string;
  now?: () => number;
}

const temporalKinds = {
  isApplication: (x: unknown): x is ApplicationFailure => x instanceof ApplicationFailure,
  isTimeout: (x: unknown): x is TimeoutFailure => x instanceof TimeoutFailure,
  isCancelled: (x: unknown) => x instanceof CancelledFailure,
};

/** Temporal failure chain → KnotError with the innermost ApplicationFailure's type and message. */
export function knotErrorFromFailure(e: unknown): KnotError {
  const summary = summarizeChain(readFailureChain(e, temporalKinds), (e as Error)?.message ?? String(e));
  return new KnotError(isErrorType(summary.type) ? summary.type : ErrorType.Internal, summary.message, { errors: summary.errors, details: summary.details });
}

/** What operators read in the Temporal UI's workflow list (summary) and on the run's page (details). */
export function runSummary(f: { type: OperationType; spaceName: string; spaceId: string; ownerName: string; templateName: string; operationId: string; reason?: string | undefined }): {
  staticSummary: string;
  staticDetails: string;
} {
  return {
    staticSummary: `${f.type} space ${f.spaceName} of ${f.ownerName}`,
    staticDetails: [
      `**${f.type}** of space \`${f.spaceName}\` (${f.spaceId})`,
      `owner: ${f.ownerName}`,
      `template: ${f.templateName}`,
      `operation: ${f.operationId}`,
      ...(f.reason ? [`reason: ${f.reason}`] : []),
    ].join('\n'),
  };
}

export class LifecycleClient {
  private readonly now: () => number;
  private readonly deadlineMs: number;

  constructor(
    private readonly client: Client,
    private readonly store: Store,
    private readonly opts: LifecycleClientOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.deadlineMs = opts.operationDeadlineMs;
  }

  private searchAttributes(spaceId: string, user: string, op: OperationType, template: string): TypedSearchAttributes | Parameters<Client['workflow']['start']>[1]['typedSearchAttributes'] {
    return [
      { key: SearchAttributes.spaceId, value: spaceId },
      { key: SearchAttributes.user, value: user },
      { key: SearchAttributes.operation, value: op },
      { key: SearchAttributes.template, value: template },
    ];
  }

  /** The running operation of a space, from the store (it is written before the workflow starts). */
  async runningOperation(spaceId: string): Promise<Operation | null> {
    return this.store.operations.active(spaceId);
  }

  private async refuse(spaceId: string, ownOperationId: string): Promise<never> {
    const running = await this.store.operations.active(spaceId);
    const other = running && running.id !== ownOperationId ? running : null;
    throw new KnotError(
      ErrorType.OperationInProgress,
      other ? `operation ${other.id} (${other.type}) is running on this space; retry when it has finished` : 'another operation is running on this space',
      { details: other ? { operationId: other.id, operationType: other.type, operation: `/api/v1/operations/${other.id}` } : {} },
    );
  }

  /**
   * Temporal refuses to reuse a workflow id within `history.workflowIdReuseMinimalInterval` (1 s by
   * default) of the previous run, with the same "already started" error as a running workflow. When
   * the previous run is in fact closed, wait it out instead of reporting a conflict.
   */
  private async startReusingId<T>(workflowId: string, ownOperationId: string, start: () => Promise<T>): Promise<T> {
    const deadline = this.now() + 5_000;
    let delay = 100;
    for (;;) {
      try {
        return await start();
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError) || this.now() > deadline) throw e;
        // The operation row is the truth: a workflow whose operation is recorded as finished is
        // only closing (or the id is inside the reuse interval); a recorded running one is a conflict.
        const spaceId = workflowId.replace(/^space-/, '');
        if (await this.store.operations.active(spaceId, ownOperationId)) throw e;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /**
   * A `pending` operation that never got a run and whose workflow Temporal does not know as running
   * it was left by a start that failed half-way: the store failed while undoing it, or the API
   * process died between recording it and starting its workflow (a crashed replica; the client's
   * retry of the unanswered request lands on another one within milliseconds). It must not block
   * the space: it is failed as `operation_not_started`.
   *
   * While it is younger than NEVER_STARTED_AFTER_MS the request that recorded it may still be
   * starting its workflow, so a request meeting it looks again until its run shows up (then it is
   * a real operation: refused as before) or it is old enough to be sure. Refusing at once instead
   * would name an operation that will never run to a client whose request was merely retried, and
   * nothing would fail it before the next cleanup sweep (activities/sweeps/never-started-operations.ts)
   * unless another request came.
   */
  private async neverStarted(op: Operation): Promise<boolean> {
    // bounded by looks as well as by age: a clock that does not move (tests) refuses, as before
    for (let current: Operation | null = op, looks = 0; looks <= NEVER_STARTED_AFTER_MS / NEVER_STARTED_POLL_MS + 1; looks++) {
      if (!current || current.status !== 'pending' || current.runId) return false;
      try {
        if (await isOperationWorkflowRunning(this.client, { id: current.id, workflowId: current.workflowId, runId: null })) return false;
      } catch {
        // Temporal did not answer: assume it runs (refuse, safely)
        return false;
      }
      const age = this.now() - current.createdAt;
      if (age >= NEVER_STARTED_AFTER_MS) return true;
      await new Promise((r) => setTimeout(r, Math.min(NEVER_STARTED_POLL_MS, NEVER_STARTED_AFTER_MS - age)));
      current = await this.store.operations.get(current.id);
    }
    return false;
  }

  private async deleteOperationRow(id: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.operations.delete(id);
        return;
      } catch {
        // left behind, the row is healed by neverStarted() on the next request
        if (attempt >= 3) return;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** Records the operation and starts its workflow; 409-style error when one is already running. */
  async startOperation(req: OperationRequest, guard?: OperationGuard): Promise<Operation> {
    let running = await this.store.operations.active(req.spaceId);
    if (running && (await this.neverStarted(running))) {
      // only if still pending without a run: one that began meanwhile stays, and is refused below
      await this.store.operations.failNeverStarted(running.id, 'the workflow never started; superseded by a later request', this.now());
      running = await this.store.operations.active(req.spaceId);
    }
    if (running) await this.refuse(req.spaceId, '');
    const operationId = this.opts.newId();
    const workflowId = spaceWorkflowId(req.spaceId);
    const row = { id: operationId, spaceId: req.spaceId, type: req.type, requestedBy: req.requestedBy, reason: req.reason, workflowId, deadlineAt: this.now() + this.deadlineMs };
    const op = guard
      ? await this.store.transaction(async (tx) => {
          await guard(tx);
          // checked again under the guard's lock: of two requests for one space, one records
          return (await tx.operations.active(req.spaceId)) ? null : tx.operations.insert(row, this.now());
        })
      : await this.store.operations.insert(row, this.now());
    if (!op) return this.refuse(req.spaceId, '');
    const input: LifecycleInput = {
      spaceId: req.spaceId,
      operationId,
      type: req.type,
      requestedBy: req.requestedBy,
      ...(req.reason ? { reason: req.reason } : {}),
      ...(req.spec ? { spec: req.spec } : {}),
    };
    try {
      await this.startReusingId(workflowId, operationId, () =>
        this.client.workflow.start(LIFECYCLE_WORKFLOWS[req.type], {
          taskQueue: this.opts.taskQueue,
          workflowId,
          args: [input],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          memo: { operationId, type: req.type },
          typedSearchAttributes: this.searchAttributes(req.spaceId, req.ownerName, req.type, req.templateName),
          ...runSummary({ type: req.type, spaceName: req.spaceName ?? req.spaceId, spaceId: req.spaceId, ownerName: req.ownerName, templateName: req.templateName, operationId, reason: req.reason }),
        }),
      );
    } catch (e) {
      await this.deleteOperationRow(operationId);
      if (e instanceof WorkflowExecutionAlreadyStartedError) await this.refuse(req.spaceId, operationId);
      throw new KnotError(ErrorType.Unavailable, `could not start the ${req.type} workflow: ${(e as Error).message}`, { cause: e });
    }
    return op;
  }

  /**
   * Asks Temporal to cancel the operation's run; the workflow compensates and records `cancelled`.
   * A run that has already closed is an `operation_finished` conflict.
   */
  async cancelOperation(op: Operation): Promise<void> {
    const finished = () => new KnotError(ErrorType.OperationFinished, `operation ${op.id} has already finished`, { details: { operationId: op.id } });
    try {
      if (!op.runId) {
        const d = await this.client.workflow.getHandle(op.workflowId).describe();
        const memoOp = (d.memo as { operationId?: string } | undefined)?.operationId;
        if (memoOp !== op.id) throw new KnotError(ErrorType.Conflict, `operation ${op.id} has not started yet; retry in a moment`, { retryable: true });
        if (d.status.name !== 'RUNNING') throw finished();
        await this.client.workflow.getHandle(op.workflowId, d.runId).cancel();
        return;
      }
      await this.client.workflow.getHandle(op.workflowId, op.runId).cancel();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw finished();
      throw e;
    }
  }

  /** Create runs to completion (it only validates and persists) so the API can answer 201. */
  async createSpace(input: Omit<CreateSpaceInput, 'operationId'>, ownerName: string, templateName: string): Promise<{ space: Space; operation: Operation }> {
    const operationId = this.opts.newId();
    const workflowId = spaceWorkflowId(input.spaceId);
    await this.store.operations.insert(
      { id: operationId, spaceId: input.spaceId, type: 'create', requestedBy: input.requestedBy, workflowId, deadlineAt: this.now() + this.deadlineMs },
      this.now(),
    );
    try {
      const handle = await this.startReusingId(workflowId, operationId, () =>
        this.client.workflow.start(LIFECYCLE_WORKFLOWS.create, {
          taskQueue: this.opts.taskQueue,
          workflowId,
          args: [{ ...input, operationId } satisfies CreateSpaceInput],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          memo: { operationId, type: 'create' },
          typedSearchAttributes: this.searchAttributes(input.spaceId, ownerName, 'create', templateName),
          ...runSummary({ type: 'create', spaceName: input.name, spaceId: input.spaceId, ownerName, templateName, operationId }),
        }),
      );
      await handle.result();
    } catch (e) {
      if (e instanceof WorkflowFailedError) throw knotErrorFromFailure(e);
      await this.deleteOperationRow(operationId);
      throw new KnotError(ErrorType.Unavailable, `could not run the create workflow: ${(e as Error).message}`, { cause: e });
    }
    const space = await this.store.spaces.get(input.spaceId);
    const operation = await this.store.operations.get(operationId);
    if (!space || !operation) throw new KnotError(ErrorType.Internal, 'create workflow finished but the space is missing');
    return { space, operation };
  }
}

/** `server.operation_deadline`'s default, for callers without a config (tests, benchmarks). */
export const DEFAULT_OPERATION_DEADLINE = configSchema.parse({}).server.operation_deadline;

/**
 * The one way every process builds its LifecycleClient (cli, worker, tests, bench): ids are new
 * knot ids, the deadline is `server.operation_deadline`.
 */
export function createLifecycleClient(client: Client, store: Store, opts: { taskQueue: string; operationDeadline?: string; now?: () => number }): LifecycleClient {
  return new LifecycleClient(client, store, {
    taskQueue: opts.taskQueue,
    operationDeadlineMs: parseDurationMs(opts.operationDeadline ?? DEFAULT_OPERATION_DEADLINE),
    newId: () => newId(Date.now()),
    ...(opts.now ? { now: opts.now } : {}),
  });
}
