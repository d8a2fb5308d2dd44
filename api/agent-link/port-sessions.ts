/**
 * Sessions for app hosts (`<user>--<space>--<port>.<wildcard_domain>`). The UI's cookie never
 * reaches an app host (another host, and SameSite=Strict), and must not: an app would read it. So
 * each app host gets its own grant, handed over by a one-time code:
 *
 *   app host, no cookie → 302 <server.url>/api/v1/ports/authorize?host=&path=   (port-requests.ts)
 *   authorize (the UI's cookie or a token) → a code (random, kept hashed, 60 s, one use)
 *   → 302 <app host>/__knot/session?code=&path= → `knot_port_session` (host-only, HttpOnly,
 *     SameSite=Lax, Secure on https) → 302 path
 *
 * A grant names the UI session (or token) it came from and is checked against the store on every
 * request: signing out, revoking the token or deactivating the user ends it at once. Codes and
 * grants are sealed under `server.encrypt` (AES-GCM), not kept: any replica opens what another
 * minted, so an app host works behind a round-robin load balancer and across restarts. A code is
 * refused when traded a second time in the same process; across replicas it could be traded once
 * per replica within its 60 s — each trade still needs the session or token it came from to be
 * valid, and only ever yields a cookie for that same user and host.
 */
import { decryptSecret, encryptSecret, generateKey, hashToken } from '../../core/crypto';
import type { Actor, Services } from '../context';
import { PORT_SESSION_COOKIE } from './port-proxy';

export const CODE_TTL_MS = 60_000;
/** A grant lasts at most this long (and never past the session or token it came from). */
export const GRANT_TTL_MS = 12 * 3600_000;
const MAX_CODES = 10_000;
/** what encryptSecret puts before its base64: left out of codes and cookies, put back to open them */
const SEALED_PREFIX = 'v1:';

/** Drops expired entries, then the oldest, until `map` has room for one more. */
function makeRoom<T extends { expiresAt: number }>(map: Map<string, T>, max: number, now: number): void {
  if (map.size < max) return;
  for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  for (const k of map.keys()) {
    if (map.size < max) break;
    map.delete(k);
  }
}

/** What a code or a grant carries, sealed (AES-GCM under the server key): readable and valid only to knot. */
interface Sealed {
  host: string;
  userId: string;
  sessionId: string | null;
  tokenId: string | null;
  expiresAt: number;
  /** a code's: how long the grant it becomes may last */
  grantExpiresAt?: number;
}

export class PortSessions {
  /**
   * Codes and grants are sealed with `server.encrypt`, so any replica opens what another minted (an
   * app host behind a load balancer); without it, with a key of this process's own (and then only
   * this process knows them, as a restart forgets them).
   */
  private readonly key: string;
  /** codes already traded here, until they expire: a code works once per process (see the header) */
  private readonly redeemed = new Map<string, { expiresAt: number }>();

  constructor(private readonly svc: Services) {
    this.key = svc.config.server.encrypt || generateKey();
  }

  private seal(kind: 'code' | 'grant', value: Sealed): string {
    // base64url: safe as it is in a query string and a cookie
    return Buffer.from(encryptSecret(JSON.stringify(value), this.key, `port-${kind}`).slice(SEALED_PREFIX.length), 'base64').toString('base64url');
  }

  private open(kind: 'code' | 'grant', text: string): Sealed | null {
    if (!text || text.length > 4096) return null;
    try {
      const value = JSON.parse(decryptSecret(SEALED_PREFIX + Buffer.from(text, 'base64url').toString('base64'), this.key, `port-${kind}`)) as Sealed;
      return typeof value.host === 'string' && typeof value.userId === 'string' && typeof value.expiresAt === 'number' ? value : null;
    } catch {
      return null;
    }
  }

  /** A one-time code for `host`, for the caller's session or token. */
  async mintCode(host: string, actor: Actor): Promise<string> {
    const now = this.svc.now();
    let until = now + GRANT_TTL_MS;
    if (actor.sessionId) until = Math.min(until, (await this.svc.store.sessions.get(actor.sessionId))?.expiresAt ?? now);
    if (actor.tokenId) until = Math.min(until, (await this.svc.store.tokens.get(actor.tokenId))?.expiresAt ?? until);
    return this.seal('code', { host, userId: actor.user.id, sessionId: actor.sessionId, tokenId: actor.tokenId, expiresAt: now + CODE_TTL_MS, grantExpiresAt: until });
  }

  /** Trades a code (once, on the host it was minted for) for a grant's secret and its lifetime in seconds. */
  redeem(code: string, host: string): { secret: string; maxAgeS: number } | null {
    const c = this.open('code', code);
    const now = this.svc.now();
    if (!c || c.host !== host || c.expiresAt <= now || (c.grantExpiresAt ?? 0) <= now) return null;
    const key = hashToken(code);
    if (this.redeemed.has(key)) return null;
    makeRoom(this.redeemed, MAX_CODES, now);
    this.redeemed.set(key, { expiresAt: c.expiresAt });
    const grant: Sealed = { host, userId: c.userId, sessionId: c.sessionId, tokenId: c.tokenId, expiresAt: c.grantExpiresAt! };
    return { secret: this.seal('grant', grant), maxAgeS: Math.max(1, Math.floor((grant.expiresAt - now) / 1000)) };
  }

  /** The caller a grant's secret stands for on `host`, re-checked against the store; null when it no longer holds. */
  async check(secret: string, host: string): Promise<Actor | null> {
    const g = this.open('grant', secret);
    const now = this.svc.now();
    if (!g || g.host !== host || g.expiresAt <= now) return null;
    const { store } = this.svc;
    if (g.sessionId) {
      const s = await store.sessions.get(g.sessionId);
      if (!s || s.revokedAt !== null || s.expiresAt <= now) return null;
    }
    if (g.tokenId) {
      const t = await store.tokens.get(g.tokenId);
      if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) return null;
    }
    const user = await store.users.get(g.userId);
    if (!user || !user.active) return null;
    return { user, tokenId: g.tokenId, sessionId: g.sessionId, groups: await store.groups.namesOfUser(user.id), isAdmin: user.role === 'admin' };
  }

  /** The Set-Cookie for a grant: host-only (no Domain), so no other app host ever sees it. */
  cookie(secret: string, maxAgeS: number): string {
    const secure = this.svc.config.server.url.startsWith('https:');
    return [`${PORT_SESSION_COOKIE}=${secret}`, 'Path=/', `Max-Age=${maxAgeS}`, 'HttpOnly', 'SameSite=Lax', secure ? 'Secure' : null].filter(Boolean).join('; ');
  }
}
