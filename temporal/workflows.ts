/**
 * knot's workflows by reference, for the code that starts and queries them (API, schedules,
 * tests). Only their *types* are imported: the workflow code stays out of the API's run-time
 * import graph, yet every name below is checked against the workflow it names, and the argument
 * and result types come from the workflow's own signature (go-to-definition leads there).
 */
import type { QueryDefinition } from '@temporalio/common';
import type { OperationProgress, OperationType } from '../core/lifecycle';
import { PROGRESS_QUERY } from '../core/lifecycle';
import type * as workflows from '../workflows';

/** Every workflow the worker registers, by name. */
export type KnotWorkflows = typeof workflows;
export type KnotWorkflowName = { [K in keyof KnotWorkflows]: KnotWorkflows[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof KnotWorkflows];

/** A workflow's registered name, checked against the workflows module. */
export function workflowName<K extends KnotWorkflowName>(name: K): K {
  return name;
}

/** The lifecycle workflow each operation type runs. */
export const LIFECYCLE_WORKFLOWS = {
  create: workflowName('createSpaceWorkflow'),
  start: workflowName('startSpaceWorkflow'),
  stop: workflowName('stopSpaceWorkflow'),
  update: workflowName('updateSpaceWorkflow'),
  restart: workflowName('restartSpaceWorkflow'),
  delete: workflowName('deleteSpaceWorkflow'),
} as const satisfies Record<OperationType, KnotWorkflowName>;

/** The sweeps the Schedules start. */
export const SWEEP_WORKFLOWS = {
  autoStop: workflowName('autoStopSweepWorkflow'),
  cleanup: workflowName('cleanupSweepWorkflow'),
} as const;

/**
 * workflows/lifecycle.ts `progressQuery`, for clients: the same definition (its name comes from
 * core/lifecycle.ts), typed from the workflow's so `handle.query(progress)` answers OperationProgress.
 */
export const progressQuery = { type: 'query', name: PROGRESS_QUERY } as unknown as typeof workflows.progressQuery & QueryDefinition<OperationProgress, [], typeof PROGRESS_QUERY>;
