/**
 * One webhook attempt over HTTP(S), SSRF-guarded: the host is resolved once, every address it
 * resolves to is checked (core/webhooks.ts isPrivateAddress) and the connection goes to the checked
 * address (a `lookup` that answers it, so nothing re-resolves between the check and the connect);
 * redirects are not followed, the response body is read up to RESPONSE_EXCERPT_BYTES, and the
 * whole attempt has a timeout.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { hostOf, isPrivateAddress, RESPONSE_EXCERPT_BYTES } from '../core/webhooks';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface WebhookResponse {
  statusCode: number | null;
  /** the start of the body (what was read) */
  body: string | null;
  /** why the attempt failed before a response (refused address, DNS, connect, timeout) */
  error: string | null;
}

/** A URL whose host may not be reached: not worth retrying? It is (DNS may change), but it is named. */
export class BlockedAddressError extends Error {}

/** Resolves the host once and picks the address to connect to; throws when any address is private. */
export async function resolvePinned(url: URL, allowPrivate: boolean): Promise<{ address: string; family: number }> {
  const host = hostOf(url);
  const literal = isIP(host);
  const addrs = literal ? [{ address: host, family: literal }] : await dnsLookup(host, { all: true, verbatim: true });
  if (addrs.length === 0) throw new Error(`${host} does not resolve`);
  if (!allowPrivate) {
    const bad = addrs.find((a) => isPrivateAddress(a.address));
    if (bad) throw new BlockedAddressError(`${host} resolves to ${bad.address}, a private, loopback or link-local address (server.webhooks.allow_private_networks is off)`);
  }
  return addrs[0] as { address: string; family: number };
}

export async function sendWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const url = new URL(req.url);
  const deadline = Date.now() + req.timeoutMs;
  let pinned: { address: string; family: number };
  try {
    pinned = await resolvePinned(url, req.allowPrivate);
  } catch (e) {
    return { statusCode: null, body: null, error: (e as Error).message };
  }
  const lookup: LookupFunction = (_host, opts, cb) => {
    if (opts.all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve) => {
    let done = false;
    const finish = (r: WebhookResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const request = mod.request(
      url,
      {
        method: 'POST',
        lookup,
        agent: false,
        headers: { 'content-type': 'application/json', 'user-agent': 'knot-webhooks/1', ...req.headers, 'content-length': Buffer.byteLength(req.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const settle = () => {
          res.destroy();
          finish({ statusCode: res.statusCode ?? null, body: Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8'), error: null });
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= RESPONSE_EXCERPT_BYTES) settle();
        });
        res.on('end', settle);
        res.on('error', settle);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish({ statusCode: null, body: null, error: `no response within ${req.timeoutMs} ms` });
    }, Math.max(1, deadline - Date.now()));
    request.on('error', (e) => finish({ statusCode: null, body: null, error: e.message }));
    request.end(req.body);
  });
}
