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
 * request: signing out, revoking the token or deactivating the user ends it at once. Grants live in
 * this process's memory: another replica (or a restart) sends the browser through authorize again,
 * which is one redirect for a signed-in user.
 */
import { generateToken, hashToken } from '../../core/crypto';
import type { Actor, Services } from '../context';
import { PORT_SESSION_COOKIE } from './port-proxy';

export const CODE_TTL_MS = 60_000;
/** A grant lasts at most this long (and never past the session or token it came from). */
export const GRANT_TTL_MS = 12 * 3600_000;
const MAX_CODES = 10_000;
const MAX_GRANTS = 100_000;

interface Grant {
  host: string;
  userId: string;
  sessionId: string | null;
  tokenId: string | null;
  expiresAt: number;
}

/** Drops expired entries, then the oldest, until `map` has room for one more. */
function makeRoom<T extends { expiresAt: number }>(map: Map<string, T>, max: number, now: number): void {
  if (map.size < max) return;
  for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  for (const k of map.keys()) {
    if (map.size < max) break;
    map.delete(k);
  }
}

export class PortSessions {
  private readonly codes = new Map<string, Grant & { grantExpiresAt: number }>();
  private readonly grants = new Map<string, Grant>();

  constructor(private readonly svc: Services) {}

  /** A one-time code for `host`, for the caller's session or token. */
  async mintCode(host: string, actor: Actor): Promise<string> {
    const now = this.svc.now();
    let until = now + GRANT_TTL_MS;
    if (actor.sessionId) until = Math.min(until, (await this.svc.store.sessions.get(actor.sessionId))?.expiresAt ?? now);
    if (actor.tokenId) until = Math.min(until, (await this.svc.store.tokens.get(actor.tokenId))?.expiresAt ?? until);
    const code = generateToken('');
    makeRoom(this.codes, MAX_CODES, now);
    this.codes.set(hashToken(code), { host, userId: actor.user.id, sessionId: actor.sessionId, tokenId: actor.tokenId, expiresAt: now + CODE_TTL_MS, grantExpiresAt: until });
    return code;
  }

  /** Trades a code (once, on the host it was minted for) for a grant's secret and its lifetime in seconds. */
  redeem(code: string, host: string): { secret: string; maxAgeS: number } | null {
    const key = hashToken(code);
    const c = this.codes.get(key);
    this.codes.delete(key);
    const now = this.svc.now();
    if (!c || c.host !== host || c.expiresAt <= now || c.grantExpiresAt <= now) return null;
    const secret = generateToken('');
    makeRoom(this.grants, MAX_GRANTS, now);
    this.grants.set(hashToken(secret), { host, userId: c.userId, sessionId: c.sessionId, tokenId: c.tokenId, expiresAt: c.grantExpiresAt });
    return { secret, maxAgeS: Math.max(1, Math.floor((c.grantExpiresAt - now) / 1000)) };
  }

  /** The caller a grant's secret stands for on `host`, re-checked against the store; null when it no longer holds. */
  async check(secret: string, host: string): Promise<Actor | null> {
    const key = hashToken(secret);
    const g = this.grants.get(key);
    const now = this.svc.now();
    if (!g || g.host !== host) return null;
    if (g.expiresAt <= now) {
      this.grants.delete(key);
      return null;
    }
    const { store } = this.svc;
    if (g.sessionId) {
      const s = await store.sessions.get(g.sessionId);
      if (!s || s.revokedAt !== null || s.expiresAt <= now) return this.forget(key);
    }
    if (g.tokenId) {
      const t = await store.tokens.get(g.tokenId);
      if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) return this.forget(key);
    }
    const user = await store.users.get(g.userId);
    if (!user || !user.active) return this.forget(key);
    return { user, tokenId: g.tokenId, sessionId: g.sessionId, groups: await store.groups.namesOfUser(user.id), isAdmin: user.role === 'admin' };
  }

  private forget(key: string): null {
    this.grants.delete(key);
    return null;
  }

  /** The Set-Cookie for a grant: host-only (no Domain), so no other app host ever sees it. */
  cookie(secret: string, maxAgeS: number): string {
    const secure = this.svc.config.server.url.startsWith('https:');
    return [`${PORT_SESSION_COOKIE}=${secret}`, 'Path=/', `Max-Age=${maxAgeS}`, 'HttpOnly', 'SameSite=Lax', secure ? 'Secure' : null].filter(Boolean).join('; ');
  }
}
