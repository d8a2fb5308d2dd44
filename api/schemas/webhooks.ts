import { z } from 'zod';
import { DELIVERY_STATUSES, RESPONSE_EXCERPT_SHOWN, WEBHOOK_EVENT_TYPES } from '../../core/webhooks';
import { isoTime, limitParam, nullableIsoTime } from './common';

const MAX_URL = 2048;
const MAX_DESCRIPTION = 500;

const url = z.string().trim().min(1).max(MAX_URL).meta({ description: 'http(s) URL the events are POSTed to; private, loopback and link-local addresses are refused unless server.webhooks.allow_private_networks' });
const events = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .refine((a) => new Set(a).size === a.length, { message: 'must not repeat an event type' })
  .meta({ description: 'the event types sent to this endpoint' });
const description = z.string().max(MAX_DESCRIPTION);

export const createWebhookBody = z.strictObject({ url, events, description: description.default('') }).meta({ id: 'CreateWebhook' });

export const updateWebhookBody = z
  .strictObject({
    url: url.optional(),
    events: events.optional(),
    description: description.optional(),
    enabled: z.boolean().optional().meta({ description: 'false disables the endpoint (nothing is sent); true enables it again' }),
  })
  .meta({ id: 'UpdateWebhook' });

export const webhookView = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().describe('set when knot disabled it (failing for too long)'),
    failingSince: nullableIsoTime.describe('when the current run of failed attempts began'),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Webhook' });

export const createdWebhookView = webhookView
  .extend({ secret: z.string().describe('the signing secret (`whsec_…`, Standard Webhooks): shown this once, never again') })
  .meta({ id: 'CreatedWebhook' });

export const webhookList = z.object({ items: z.array(webhookView) }).meta({ id: 'WebhookList' });

export const deliveryView = z
  .object({
    id: z.string().describe('the `webhook-id` header: the same on every attempt and redelivery'),
    eventId: z.number().int().nullable(),
    eventType: z.string(),
    spaceId: z.string().nullable(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    createdAt: isoTime,
    lastAttemptAt: nullableIsoTime,
    deliveredAt: nullableIsoTime,
    lastResponse: z
      .object({
        statusCode: z.number().int().nullable(),
        body: z.string().nullable().describe(`the first ${RESPONSE_EXCERPT_SHOWN} characters`),
        error: z.string().nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export const deliveryList = z.object({ items: z.array(deliveryView), nextCursor: z.string().nullable() }).meta({ id: 'WebhookDeliveryList' });

export const listDeliveriesQuery = z.strictObject({ limit: limitParam, cursor: z.string().max(512).optional() });
