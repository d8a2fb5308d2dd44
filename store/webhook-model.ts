/** The records of lifecycle webhooks (core/webhooks.ts): endpoints and their deliveries. */
import type { DeliveryStatus, WebhookEventType } from '../core/webhooks';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  events: WebhookEventType[];
  enabled: boolean;
  /** the signing secret, encrypted with server.encrypt (associated data `webhook:<id>`) */
  secretEncrypted: string;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  /** when the current run of failed attempts began (null: the last attempt succeeded, or none yet) */
  failingSince: number | null;
  /** why it was disabled (null when enabled, or disabled by an admin without a reason) */
  disabledReason: string | null;
  /** events with ids up to this one happened before the endpoint existed: not delivered to it */
  afterEventId: number;
}

export type NewWebhookEndpoint = Omit<WebhookEndpoint, 'createdAt' | 'updatedAt' | 'failingSince' | 'disabledReason'>;

export interface WebhookEndpointPatch {
  url?: string;
  description?: string;
  events?: WebhookEventType[];
  enabled?: boolean;
  disabledReason?: string | null;
}

export interface WebhookDelivery {
  /** also the `webhook-id` header: stable for one event at one endpoint, across retries and redeliveries */
  id: string;
  endpointId: string;
  /** the lifecycle event (null: a test event) */
  eventId: number | null;
  eventType: string;
  /** deliveries of one queue go out in order: the space's id (`test` for test events) */
  queueKey: string;
  /** the exact JSON body every attempt sends */
  payload: string;
  status: DeliveryStatus;
  /** handed to its queue workflow (false: the dispatcher still has to) */
  queued: boolean;
  attempts: number;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  /** the start of the receiver's last response body */
  lastResponse: string | null;
  lastError: string | null;
  createdAt: number;
  /** when it was (re)queued: the dispatcher hands deliveries over in (queuedAt, eventId, id) order */
  queuedAt: number;
  deliveredAt: number | null;
}

export type NewWebhookDelivery = Pick<WebhookDelivery, 'id' | 'endpointId' | 'eventId' | 'eventType' | 'queueKey' | 'payload'>;

export interface WebhookAttempt {
  ok: boolean;
  statusCode: number | null;
  response: string | null;
  error: string | null;
}
