/**
 * Lifecycle webhooks, the pure part: which webhook events a stored lifecycle event becomes, the
 * JSON body, the Standard Webhooks signature (https://www.standardwebhooks.com: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * keyed with the base64-decoded part of the secret after `whsec_`), the addresses a delivery may
 * never reach (SSRF guard) and the dispatcher's in-order take of the event log.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { KnotEvent } from './events';
import { ErrorType, KnotError } from './errors';

import type { WebhookEventType } from './webhook-queue';

export { WEBHOOK_DELIVER_SIGNAL, WEBHOOK_EVENT_TYPES, type WebhookEventType, type WebhookRetry } from './webhook-queue';

/** what `POST /webhooks/:id/test` sends; never subscribed to, always delivered */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** How much of a receiver's response body is kept (and read at all). */
export const RESPONSE_EXCERPT_BYTES = 4096;
/** What the deliveries list shows of it. */
export const RESPONSE_EXCERPT_SHOWN = 512;

const SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` + base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** AES-GCM associated data binding a stored secret to its endpoint. */
export const webhookSecretAad = (endpointId: string): string => `webhook:${endpointId}`;

/** The Standard Webhooks signature header value for this message. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of one attempt (the timestamp is the attempt's, the id the message's). */
export function webhookHeaders(secret: string, id: string, body: string, nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(secret, id, ts, body) };
}

/** The stable message id of one event for one endpoint (receivers de-duplicate on it). */
export function deliveryId(endpointId: string, eventId: number, type: string): string {
  return `msg_${eventId}_${type}_${endpointId}`;
}

/** The webhook events a stored lifecycle event becomes (none for steps, phases, update notices). */
export function webhookTypesOf(e: Pick<KnotEvent, 'type' | 'operationType' | 'status' | 'agent'>): WebhookEventType[] {
  if (e.type === 'space.deleted') return ['space.deleted'];
  // who may use the space changed: GET /spaces/:id/shares, or the space itself (its new owner), says how it is now
  if (e.type === 'space.shared') return ['space.shared'];
  if (e.type === 'space.transferred') return ['space.transferred'];
  if (e.type === 'space.agent') {
    if (e.agent?.state === 'connected') return ['space.agent.connected'];
    return e.agent?.state === 'disconnected' || e.agent?.state === 'timeout' ? ['space.agent.disconnected'] : [];
  }
  if (e.type !== 'operation.finished') return [];
  // the event itself first, then what it means for the space (the order of their deliveries)
  const out: WebhookEventType[] = ['operation.finished'];
  if (e.status === 'failed') out.push('space.failed');
  else if (e.status === 'succeeded') {
    // a delete's success is the log's own `space.deleted` event
    const byType: Record<string, WebhookEventType | undefined> = { create: 'space.created', start: 'space.started', restart: 'space.started', stop: 'space.stopped', update: 'space.updated' };
    const t = e.operationType ? byType[e.operationType] : undefined;
    if (t) out.push(t);
  }
  return out;
}

/** What the dispatcher knows about an event's space, owner, template and operation when it takes it. */
export interface WebhookContext {
  owner: { id: string; username: string } | null;
  template: { id: string; name: string } | null;
  operation: { id: string; type: string; status: string; reason: string; error: { type: string; message: string } | null } | null;
}

/** The JSON body: `{type, timestamp, data}` as Standard Webhooks suggests. */
export function webhookBody(type: string, e: KnotEvent, ctx: WebhookContext): string {
  return JSON.stringify({
    type,
    timestamp: e.at,
    data: {
      eventId: e.id,
      space: { id: e.spaceId, name: e.spaceName, phase: e.phase },
      owner: ctx.owner,
      template: ctx.template,
      operation: ctx.operation ?? (e.operationId ? { id: e.operationId, type: e.operationType, status: e.status, reason: null, error: e.error } : null),
      ...(e.agent ? { agent: { state: e.agent.state } } : {}),
    },
  });
}

export function testWebhookBody(endpointId: string, nowMs: number): string {
  return JSON.stringify({ type: WEBHOOK_TEST_EVENT, timestamp: new Date(nowMs).toISOString(), data: { endpointId, message: 'a test event from knot' } });
}

// Where a webhook may never go unless server.webhooks.allow_private_networks: the host itself,
// private networks, link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254), CGNAT.
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['fc00::', 7],
  ['fec0::', 10],
  ['ff00::', 8],
  ['100::', 64],
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** The IPv4 address an IPv6 one carries (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::`), if any. */
function embeddedIpv4(addr: string): string | null {
  const lower = addr.toLowerCase();
  const m = /^(?:::ffff:|64:ff9b::)(?:0:)?([0-9.]+)$/.exec(lower);
  if (m && isIP(m[1] ?? '') === 4) return m[1] as string;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1] as string, 16);
    const lo = parseInt(hex[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** Whether a literal address is loopback, private, link-local, CGNAT, metadata, multicast or unspecified. */
export function isPrivateAddress(addr: string): boolean {
  const family = isIP(addr);
  if (family === 4) return blocked.check(addr, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(addr);
    if (v4 !== null) return blocked.check(v4, 'ipv4');
    return blocked.check(addr, 'ipv6');
  }
  // not an address: refuse rather than guess
  return true;
}

/** The URL of an endpoint, checked for what can be told without DNS; a 400 naming `url` otherwise. */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badUrl('must be an absolute http(s) URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badUrl('must be http or https');
  if (u.username || u.password) throw badUrl('must not carry credentials');
  const host = hostOf(u);
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && isPrivateAddress(host)))) {
    throw badUrl('resolves to a private, loopback or link-local address (server.webhooks.allow_private_networks is off)');
  }
  return u;
}

/** The host of a URL without IPv6 brackets. */
export function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '');
}

export function badUrl(message: string): KnotError {
  return new KnotError(ErrorType.Validation, `url ${message}`, { errors: [{ path: 'url', message }] });
}

/**
 * The events the dispatcher may take now: contiguous ids after the cursor. A hole is an insert not
 * yet committed (MySQL hands out ids before commit) or a rolled-back one: the take stops at it
 * until `graceMs` after it was first seen, then goes on past it.
 */
export function takeContiguous<T extends { id: number }>(cursor: number, rows: readonly T[], gap: { id: number; since: number } | null, now: number, graceMs: number): { take: T[]; gap: { id: number; since: number } | null } {
  const take: T[] = [];
  let expected = cursor + 1;
  let g = gap;
  for (const r of rows) {
    if (r.id !== expected) {
      if (!g || g.id !== expected) g = { id: expected, since: now };
      if (now - g.since < graceMs) return { take, gap: g };
    }
    take.push(r);
    expected = r.id + 1;
    g = null;
  }
  return { take, gap: g };
}
