/**
 * Lifecycle webhooks (admins): endpoints, their deliveries, redelivery and a test event. The
 * signing secret is returned once, by the create; it is stored encrypted with server.encrypt
 * (associated data `webhook:<id>`) and never returned, logged or audited afterwards. Delivery
 * itself is the worker's (activities/webhooks.ts): a redelivery or a test event is a delivery
 * marked for hand-over, which the dispatcher gives to its queue workflow.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { encryptSecret } from '../../core/crypto';
import { conflict, ErrorType, KnotError, notFound } from '../../core/errors';
import { badUrl, hostOf, isPrivateAddress, newWebhookSecret, parseWebhookUrl, RESPONSE_EXCERPT_SHOWN, testWebhookBody, WEBHOOK_TEST_EVENT, webhookSecretAad } from '../../core/webhooks';
import type { WebhookDelivery, WebhookEndpoint, WebhookEndpointPatch } from '../../store/webhook-model';
import type { Services } from '../context';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, decodeCursor, encodeCursor, iso, noContent, problems } from '../schemas/common';
import { createdWebhookView, createWebhookBody, deliveryList, deliveryView, listDeliveriesQuery, updateWebhookBody, webhookList, webhookView } from '../schemas/webhooks';
import { API_BASE } from '../views';

const BASE = `${API_BASE}/webhooks`;
const TEST_QUEUE = 'test';

export function webhookJson(e: WebhookEndpoint): z.infer<typeof webhookView> {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    failingSince: iso(e.failingSince),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function deliveryJson(d: WebhookDelivery): z.infer<typeof deliveryView> {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    spaceId: d.queueKey === TEST_QUEUE && d.eventId === null ? null : d.queueKey,
    status: d.status,
    attempts: d.attempts,
    createdAt: iso(d.createdAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    deliveredAt: iso(d.deliveredAt),
    lastResponse: d.attempts === 0 && d.lastError === null ? null : { statusCode: d.lastStatusCode, body: d.lastResponse?.slice(0, RESPONSE_EXCERPT_SHOWN) ?? null, error: d.lastError },
  };
}

/** The URL as saved: the literal checks, then (private networks off) every address its host resolves to. */
async function checkedUrl(svc: Services, raw: string): Promise<string> {
  const allowPrivate = svc.config.server.webhooks.allow_private_networks;
  const u = parseWebhookUrl(raw, allowPrivate);
  const host = hostOf(u);
  if (!allowPrivate && isIP(host) === 0) {
    // a name that does not resolve yet is accepted: each delivery resolves and checks it again
    const addrs = await lookup(host, { all: true, verbatim: true }).catch(() => []);
    const bad = addrs.find((a) => isPrivateAddress(a.address));
    if (bad) throw badUrl(`resolves to ${bad.address}, a private, loopback or link-local address (server.webhooks.allow_private_networks is off)`);
  }
  return u.toString();
}

async function requireEndpoint(svc: Services, id: string): Promise<WebhookEndpoint> {
  const e = await svc.store.webhooks.getEndpoint(id);
  if (!e) throw notFound('webhook', id);
  return e;
}

const cursorSchema = z.object({ c: z.number().int(), i: z.string() });

export const webhookRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'webhooks',
    summary: 'Lifecycle webhook endpoints, oldest first (admin)',
    auth: 'admin',
    responses: { 200: { description: 'the endpoints', schema: webhookList }, ...problems(403, ...AUTH_PROBLEMS) },
    async handler({ svc }) {
      return { status: 200, body: { items: (await svc.store.webhooks.listEndpoints()).map(webhookJson) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'webhooks',
    summary: 'Register a webhook endpoint (admin); its signing secret is in this response only',
    description:
      'Events after this call are POSTed to `url`, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). ' +
      'A URL on a private, loopback, link-local, CGNAT or metadata address is a 400 naming `url` unless server.webhooks.allow_private_networks. Needs server.encrypt.',
    auth: 'admin',
    body: { 'application/json': createWebhookBody },
    audit: { action: 'webhook.create', resourceType: 'webhook' },
    responses: { 201: { description: 'registered', schema: createdWebhookView }, ...problems(400, 403, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, body, audit }) {
      const url = await checkedUrl(svc, body.url);
      const id = svc.newId();
      const secret = newWebhookSecret();
      const secretEncrypted = encryptSecret(secret, svc.config.server.encrypt, webhookSecretAad(id));
      const now = svc.now();
      const endpoint = await svc.store.transaction(async (tx) => {
        const newest = (await tx.events.bounds()).newestId ?? 0;
        // from now on the event log keeps what the dispatcher has not taken
        if ((await tx.webhooks.getCursor()) === null) await tx.webhooks.setCursor(newest);
        return tx.webhooks.insertEndpoint({ id, url, description: body.description, events: body.events, enabled: true, secretEncrypted, createdBy: actor.user.id, afterEventId: newest }, now);
      });
      audit.resourceId = id;
      audit.detail = { url, events: body.events };
      return { status: 201, body: { ...webhookJson(endpoint), secret }, headers: { Location: `${BASE}/${id}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:id`,
    tag: 'webhooks',
    summary: 'A webhook endpoint (admin)',
    auth: 'admin',
    responses: { 200: { description: 'the endpoint', schema: webhookView }, ...problems(403, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      return { status: 200, body: webhookJson(await requireEndpoint(svc, params.id ?? '')) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: `${BASE}/:id`,
    tag: 'webhooks',
    summary: 'Change a webhook endpoint: url, events, description, enabled (admin)',
    auth: 'admin',
    body: { 'application/json': updateWebhookBody },
    audit: { action: 'webhook.update', resourceType: 'webhook', resourceIdParam: 'id' },
    responses: { 200: { description: 'the endpoint after', schema: webhookView }, ...problems(400, 403, 404, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, params, body, audit }) {
      const e = await requireEndpoint(svc, params.id ?? '');
      const patch: WebhookEndpointPatch = {};
      if (body.url !== undefined) patch.url = await checkedUrl(svc, body.url);
      if (body.events !== undefined) patch.events = body.events;
      if (body.description !== undefined) patch.description = body.description;
      if (body.enabled !== undefined) patch.enabled = body.enabled;
      if (body.enabled === false) patch.disabledReason = null;
      await svc.store.webhooks.updateEndpoint(e.id, patch, svc.now());
      audit.detail = { ...(patch.url ? { url: patch.url } : {}), ...(patch.events ? { events: patch.events } : {}), ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}) };
      return { status: 200, body: webhookJson(await requireEndpoint(svc, e.id)) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:id`,
    tag: 'webhooks',
    summary: 'Remove a webhook endpoint and its deliveries (admin)',
    auth: 'admin',
    audit: { action: 'webhook.delete', resourceType: 'webhook', resourceIdParam: 'id' },
    responses: { 204: noContent, ...problems(403, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      if (!(await svc.store.webhooks.deleteEndpoint(params.id ?? ''))) throw notFound('webhook', params.id ?? '');
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:id/deliveries`,
    tag: 'webhooks',
    summary: "An endpoint's deliveries, newest first, with their attempts and last response (admin)",
    auth: 'admin',
    query: listDeliveriesQuery,
    responses: { 200: { description: 'a page of deliveries', schema: deliveryList }, ...problems(400, 403, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, params, query }) {
      const e = await requireEndpoint(svc, params.id ?? '');
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
      if (cursor === null) throw new KnotError(ErrorType.Validation, 'query.cursor: is not a cursor from a previous page', { errors: [{ path: 'query.cursor', message: 'invalid cursor' }] });
      const rows = await svc.store.webhooks.listDeliveries(e.id, { limit: query.limit + 1, ...(cursor ? { before: { createdAt: cursor.c, id: cursor.i } } : {}) });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { status: 200, body: { items: page.map(deliveryJson), nextCursor: rows.length > query.limit && last ? encodeCursor({ c: last.createdAt, i: last.id }) : null } };
    },
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/:id/deliveries/:deliveryId/redeliver`,
    tag: 'webhooks',
    summary: 'Send a delivery again, with the same webhook-id (admin)',
    auth: 'admin',
    audit: { action: 'webhook.redeliver', resourceType: 'webhook', resourceIdParam: 'id' },
    responses: { 202: { description: 'queued', schema: deliveryView }, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, params, audit }) {
      const e = await requireEndpoint(svc, params.id ?? '');
      const d = await svc.store.webhooks.getDelivery(params.deliveryId ?? '');
      if (!d || d.endpointId !== e.id) throw notFound('delivery', params.deliveryId ?? '');
      if (!e.enabled) throw conflict(`webhook '${e.id}' is disabled: enable it first`, { field: 'enabled' });
      if (d.status === 'pending') throw conflict(`delivery '${d.id}' is still pending`, { status: d.status });
      await svc.store.webhooks.requeue(d.id, svc.now());
      audit.detail = { deliveryId: d.id };
      return { status: 202, body: deliveryJson((await svc.store.webhooks.getDelivery(d.id)) as WebhookDelivery) };
    },
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/:id/test`,
    tag: 'webhooks',
    summary: `Send a \`${WEBHOOK_TEST_EVENT}\` event to the endpoint (admin)`,
    auth: 'admin',
    audit: { action: 'webhook.test', resourceType: 'webhook', resourceIdParam: 'id' },
    responses: { 202: { description: 'queued', schema: deliveryView }, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      const e = await requireEndpoint(svc, params.id ?? '');
      if (!e.enabled) throw conflict(`webhook '${e.id}' is disabled: enable it first`, { field: 'enabled' });
      const now = svc.now();
      const id = `msg_test_${svc.newId()}`;
      await svc.store.webhooks.insertDeliveries([{ id, endpointId: e.id, eventId: null, eventType: WEBHOOK_TEST_EVENT, queueKey: TEST_QUEUE, payload: testWebhookBody(e.id, now) }], now);
      return { status: 202, body: deliveryJson((await svc.store.webhooks.getDelivery(id)) as WebhookDelivery) };
    },
  }),
];
