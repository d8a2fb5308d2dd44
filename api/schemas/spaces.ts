import { autostartSchema } from '../../core/autostart';
import { z } from 'zod';
import { nameString } from '../../core/names';
import { OPERATION_STATUSES, OPERATION_TYPES, SPACE_PHASES } from '../../store/model';
import { STEP_OUTCOMES } from '../../core/events';
import { SPACE_ROLES } from '../../core/space-roles';
import { agentStatusView } from './agents';
import { isoTime, limitParam, nullableIsoTime } from './common';

export const SHELLS = ['bash', 'zsh', 'fish', 'sh'] as const;

const parameterValues = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('parameter values by variable name');
const agentUrl = z
  .string()
  .max(512)
  .regex(/^(srv\+)?https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s):// URL or srv+http(s):// name')
  .meta({ format: 'uri' })
  .describe('manual spaces: where the agent runs');
const templateVersion = z.string().max(32).describe('latest (default), an exact version 1.2.3 or a pattern 1.2.x / 1.x.x');

export const createSpaceBody = z
  .strictObject({
    name: nameString('space'),
    template: nameString('template'),
    templateVersion: templateVersion.optional(),
    shell: z.enum(SHELLS).default('bash'),
    parameters: parameterValues.optional(),
    agentUrl: agentUrl.nullable().optional(),
    owner: nameString('user').optional().describe('admins only: create the space for this username'),
    autostart: autostartSchema.optional(),
  })
  .meta({ id: 'CreateSpace' });

export const updateSpaceBody = z
  .strictObject({
    templateVersion: templateVersion.optional(),
    parameters: parameterValues.optional(),
    shell: z.enum(SHELLS).optional(),
    agentUrl: agentUrl.nullable().optional(),
    autostart: autostartSchema.nullable().optional().describe('a setting, not the spec: changing only this answers 200 and starts no update; null removes it'),
    dormancyExempt: z.boolean().optional().describe("admins only, a setting like autostart: true keeps the space from being deleted as dormant (its template's deleteAfter)"),
  })
  .meta({ id: 'UpdateSpace' });

export const actionBody = z.strictObject({ reason: z.string().max(255).optional() }).meta({ id: 'OperationRequest' });

export const SPACE_ORDERS = ['oldest', 'newest'] as const;

export const listSpacesQuery = z.strictObject({
  owner: nameString('user').optional().describe('username'),
  template: nameString('template').optional().describe('template name'),
  phase: z.enum(SPACE_PHASES).optional(),
  namePrefix: z
    .string()
    .regex(/^[a-z0-9-]{1,63}$/, 'must be 1-63 lowercase letters, digits or -')
    .optional()
    .describe('spaces whose name starts with this (a prefix, not a substring: the stores answer it from an index of names)'),
  shared: z.enum(['true', 'false']).optional().describe('true: only the spaces others shared with you ("Shared with me"); false: only your own (admins: everyone\'s); default both'),
  order: z.enum(SPACE_ORDERS).default('oldest').describe('by creation time: oldest first (default) or newest first; a cursor continues in the order it was made with'),
  limit: limitParam,
  cursor: z.string().max(512).optional(),
});

export const getSpaceQuery = z.strictObject({ owner: nameString('user').optional().describe('username (when addressing the space by name)') });

export const operationView = z
  .object({
    id: z.string(),
    spaceId: z.string(),
    type: z.enum(OPERATION_TYPES),
    status: z.enum(OPERATION_STATUSES),
    reason: z.string(),
    requestedBy: z.string(),
    error: z.object({ type: z.string(), message: z.string() }).nullable(),
    workflowId: z.string(),
    runId: z.string().nullable(),
    createdAt: isoTime,
    startedAt: nullableIsoTime,
    finishedAt: nullableIsoTime,
    href: z.string(),
  })
  .meta({ id: 'Operation' });

export const operationList = z.object({ items: z.array(operationView) }).meta({ id: 'OperationList' });
export const operationAccepted = z.object({ operation: operationView }).meta({ id: 'OperationAccepted' });

export const spaceView = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    ownerId: z.string(),
    template: z.string(),
    templateId: z.string(),
    templateVersion: z.string().describe('the version reference the space follows'),
    shell: z.string(),
    agentUrl: z.string().nullable(),
    parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).describe('password parameters are null: never returned'),
    createdAt: isoTime,
    updatedAt: isoTime,
    autostart: autostartSchema.nullable(),
    dormancyExempt: z.boolean().describe("an admin exempted the space from its template's deleteAfter"),
    status: z.object({
      phase: z.enum(SPACE_PHASES),
      reason: z.string(),
      message: z.string(),
      updateAvailable: z.boolean(),
      appliedVersion: z.string().nullable(),
      volumes: z.array(z.object({ id: z.string(), type: z.string(), nomadId: z.string().nullable() })),
      nomadJobId: z.string().nullable(),
      startedAt: nullableIsoTime,
      lastOperation: z.object({ id: z.string(), type: z.string(), status: z.string(), href: z.string() }).nullable(),
      agent: agentStatusView,
      publicPorts: z.array(z.number().int()).describe('ports the applied template version marks public: anyone may open them over HTTP while the space runs'),
      nextAutostartAt: nullableIsoTime.describe('when the autostart next starts the space'),
      deletesAt: nullableIsoTime.describe("when the cleanup sweep deletes the space as dormant (stopped for its template's deleteAfter) unless it is started or updated; null: never"),
    }),
    role: z.enum(SPACE_ROLES).nullable().describe("the caller's role on the space: owner, admin, or what a share gives (user, viewer); null in the answer to a transfer that gave it away"),
    sharedBy: z.string().nullable().describe("the owner's username when the space is the caller's by a share; else null"),
  })
  .meta({ id: 'Space' });

export const spaceList = z.object({ items: z.array(spaceView), nextCursor: z.string().nullable() }).meta({ id: 'SpaceList' });

export const operationStepView = z
  .object({
    name: z.string(),
    startedAt: isoTime,
    finishedAt: nullableIsoTime,
    durationMs: z.number().nullable(),
    outcome: z.enum(STEP_OUTCOMES),
    message: z.string().nullable(),
  })
  .meta({ id: 'OperationStep' });

/** GET /operations/:id: the operation with its step timeline. */
export const operationDetailView = operationView.extend({ steps: z.array(operationStepView) }).meta({ id: 'OperationDetail' });
