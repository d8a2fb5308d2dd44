/**
 * How API replicas reach each other's agent links. An agent links to one replica (whichever its
 * load balancer picked); a terminal, SSH session or port request may arrive at another. That one
 * checks the caller itself (authentication, the space's roles, Origin, audit — exactly as for a
 * local link), then opens the stream on the holder: one HTTP/2 session per pair of replicas,
 * over a WebSocket to `REPLICA_LINK_PATH`, each stream naming its space in `REPLICA_SPACE_HEADER`.
 * The holder passes the stream to that space's link unchanged (replica-serve.ts), never further.
 *
 * Who may open it: only a replica, by `Authorization: Bearer <replicaCredential>` — an HMAC of a
 * fixed label under `server.encrypt`, the key every replica already shares (it decrypts the same
 * secrets). Anyone holding that key can read every secret anyway; without it, the path answers 401
 * like any bad token, and a page's Origin gets 403. With no `server.encrypt` there is no relay:
 * a request reaching a replica that does not hold the link gets 503, as before.
 */
import { createHmac } from 'node:crypto';
import { decodeKey } from '../../core/crypto';

export const REPLICA_LINK_PATH = '/api/v1/internal/replica-link';
export const REPLICA_SUBPROTOCOL = 'knot-replica.v1';
/** the space whose link a relayed stream is for (removed before the stream reaches the agent) */
export const REPLICA_SPACE_HEADER = 'x-knot-replica-space';
/** set on the holder's answer when it cannot pass the stream on (the link is not here any more) */
export const REPLICA_REFUSAL_HEADER = 'x-knot-replica-refusal';

/** The bearer credential replicas present to each other, or null without `server.encrypt`. */
export function replicaCredential(encryptKeyB64: string): string | null {
  if (!encryptKeyB64) return null;
  return createHmac('sha256', decodeKey(encryptKeyB64)).update('knot replica link v1').digest('base64url');
}

/** The WebSocket URL of a replica's relay endpoint, from its advertised http(s) URL. */
export function replicaLinkUrl(holder: string): string {
  const u = new URL(holder);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${REPLICA_LINK_PATH}`;
  u.search = '';
  return u.toString();
}
