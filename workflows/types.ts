/**
 * Inputs and outputs of the lifecycle workflows: plain JSON, shared by the API (which starts
 * workflows), the workflows and the activities.
 */
import type { OperationType } from '../store/operations';

export interface SpaceSpecChange {
  templateRef?: string;
  parameters?: Record<string, string | number | boolean>;
  shell?: string;
  agentUrl?: string | null;
}

export interface LifecycleInput {
  spaceId: string;
  operationId: string;
  type: OperationType;
  /** user id, or `system` for schedules */
  requestedBy: string;
  reason?: string;
  /** update only: the spec change to apply */
  spec?: SpaceSpecChange;
}

export interface CreateSpaceInput {
  operationId: string;
  spaceId: string;
  name: string;
  ownerId: string;
  templateId: string;
  templateRef: string;
  parameters: Record<string, string | number | boolean>;
  shell: string;
  agentUrl: string | null;
  requestedBy: string;
}

export interface LifecycleResult {
  spaceId: string;
  operationId: string;
  phase: string;
}

export interface OperationProgress {
  operationId: string;
  type: OperationType;
  step: string;
}
