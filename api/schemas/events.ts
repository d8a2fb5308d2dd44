import { z } from 'zod';
import { EVENT_TYPES, STEP_OUTCOMES } from '../../core/events';
import { agentStatusView } from './agents';

/** The JSON `data:` of an event on GET /api/v1/events. */
export const eventSchema = z
  .object({
    id: z.number().int(),
    at: z.string().describe('ISO-8601 UTC time the event was recorded'),
    type: z.enum(EVENT_TYPES),
    spaceId: z.string(),
    spaceName: z.string().nullable(),
    operationId: z.string().nullable(),
    operationType: z.string().nullable(),
    phase: z.string().nullable().describe("the space's phase at that moment"),
    status: z.string().nullable().describe("the operation's status"),
    step: z.string().nullable().describe("the operation's current step"),
    stepStatus: z.enum(STEP_OUTCOMES).nullable(),
    durationMs: z.number().nullable().describe('a finished step: how long it took'),
    updateAvailable: z.boolean().nullable(),
    error: z.object({ type: z.string(), message: z.string() }).nullable(),
    agent: agentStatusView.nullable(),
  })
  .meta({ id: 'Event' });

export const resetEventSchema = z
  .object({ type: z.literal('reset'), reason: z.string(), oldestId: z.number().int().nullable() })
  .meta({ id: 'ResetEvent' });
