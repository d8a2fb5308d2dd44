/**
 * Bearer-token or session-cookie authentication, role checks and the first-start bootstrap of the admin user.
 * Tokens are looked up by their sha256; a wrong, expired or revoked token and an inactive user are
 * all the same 401 to the caller (the reason goes to the log). Failures count against the client
 * address and the token prefix; once either is over the limit failures answer 429, but a valid
 * token is checked first and always gets through.
 */
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { KnotConfig } from '../core/config';
import { generateToken, hashToken } from '../core/crypto';
import { ErrorType, KnotError } from '../core/errors';
import { newId } from '../core/names';
import { touchIfStale, type Repositories, type Store } from '../store/store';
import type { Actor, Services } from './context';
import { hashPassword, PASSWORD_MIN_LENGTH } from './passwords';
import { checkCsrf, sessionSecretOf } from './sessions';

/** Characters of a token kept in clear so users can tell their tokens apart (`knot_AbCd…`). */
export const TOKEN_PREFIX_LENGTH = 9;

/** The client's address: the peer, or the X-Forwarded-For entry `server.trust_proxy` allows (Express `trust proxy`). */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function unauthorized(detail: string): KnotError {
  return new KnotError(ErrorType.Unauthorized, detail);
}

export function rateLimited(retryAfter: number): KnotError {
  return new KnotError(ErrorType.RateLimited, `too many failed authentication attempts from this address or with this token prefix; retry in ${retryAfter} s (a valid token is always accepted)`, {
    details: { retryAfter },
  });
}

/** The bearer token of a request, or null when there is no Authorization header. */
export function bearerToken(req: Request): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const m = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]{1,512})[ \t]*$/i.exec(header);
  return m?.[1] ?? '';
}

/** Authenticates a request; throws 401, or 429 for a failure from an address or token prefix over the limit. */
export async function authenticate(req: Request, svc: Services): Promise<Actor> {
  const ip = clientIp(req);
  const token = bearerToken(req);
  const sessionSecret = token === null ? sessionSecretOf(req) : null;
  if (token === null && sessionSecret === null) throw unauthorized('missing Authorization: Bearer <token> header (or a session cookie from POST /api/v1/auth/login)');
  const fail = (reason: string): never => {
    const wait = svc.limiter.failed(ip, token ? token.slice(0, TOKEN_PREFIX_LENGTH) : null);
    svc.logger.warn({ ip, reason, limited: wait > 0 }, 'authentication failed');
    if (wait > 0) throw rateLimited(wait);
    throw unauthorized(token !== null ? 'the token is not valid (unknown, expired or revoked)' : 'the session is not valid (signed out, expired or revoked): sign in again');
  };
  const now = svc.now();
  if (sessionSecret !== null) {
    const session = await svc.store.sessions.findUsableByHash(hashToken(sessionSecret), now);
    if (!session) return fail('unknown, expired or revoked session');
    const user = await svc.store.users.get(session.userId);
    if (!user || !user.active) return fail('user is inactive');
    checkCsrf(req, svc, session);
    await touchIfStale(svc.store.sessions, session, now);
    const groups = await svc.store.groups.namesOfUser(user.id);
    return { user, tokenId: null, sessionId: session.id, groups, isAdmin: user.role === 'admin' };
  }
  if (token === '') return fail('malformed Authorization header');
  const row = await svc.store.tokens.findUsableByHash(hashToken(token!), now);
  if (!row) return fail('unknown, expired or revoked token');
  // both at once (one round trip's wait on MariaDB or Redis); the groups of an inactive user are read for nothing
  const [user, groups] = await Promise.all([svc.store.users.get(row.userId), svc.store.groups.namesOfUser(row.userId)]);
  if (!user || !user.active) return fail('user is inactive');
  await touchIfStale(svc.store.tokens, row, now);
  return { user, tokenId: row.id, sessionId: null, groups, isAdmin: user.role === 'admin' };
}

export function requireAdmin(actor: Actor): void {
  if (!actor.isAdmin) throw new KnotError(ErrorType.Forbidden, 'this action needs the admin role');
}

/** Creates a token for a user and returns the secret (shown once) with the stored row. */
export async function issueToken(
  store: Pick<Repositories, 'tokens'>,
  opts: { id: string; userId: string; name: string; expiresAt: number | null; secret?: string },
  now: number,
) {
  const secret = opts.secret ?? generateToken();
  const token = await store.tokens.insert(
    { id: opts.id, userId: opts.userId, name: opts.name, tokenHash: hashToken(secret), prefix: secret.slice(0, TOKEN_PREFIX_LENGTH), expiresAt: opts.expiresAt },
    now,
  );
  return { secret, token };
}

export interface BootstrapResult {
  /** false when users already existed: nothing was done */
  created: boolean;
  username?: string;
  /** the generated token, set only when it was generated here: print it ONCE */
  generatedToken?: string;
}

/**
 * First start: when there is no user at all, create `admin` (role admin) with a token — the
 * configured `server.bootstrap_token` (KNOT_BOOTSTRAP_TOKEN) when set, else a generated one that
 * is returned so the CLI can print it once — and, when `server.bootstrap_password` is set, that
 * password for web sign-in. Later starts do nothing (the bootstrap token is not a
 * permanent back door: it only ever becomes the first admin's token).
 */
export async function bootstrapAdmin(store: Store, config: KnotConfig, logger: Logger, now: () => number = Date.now): Promise<BootstrapResult> {
  if ((await store.users.count()) > 0) return { created: false };
  const configured = config.server.bootstrap_token.trim();
  if (configured !== '' && configured.length < 16) {
    throw new KnotError(ErrorType.Config, 'server.bootstrap_token must be at least 16 characters', {
      errors: [{ path: 'server.bootstrap_token', message: 'must be at least 16 characters' }],
    });
  }
  const password = config.server.bootstrap_password;
  if (password !== '' && password.length < PASSWORD_MIN_LENGTH) {
    throw new KnotError(ErrorType.Config, `server.bootstrap_password must be at least ${PASSWORD_MIN_LENGTH} characters`, {
      errors: [{ path: 'server.bootstrap_password', message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }],
    });
  }
  const passwordHash = password ? await hashPassword(password) : null;
  const t = now();
  const userId = newId(t);
  const secret = configured || generateToken();
  try {
    await store.transaction(async (tx) => {
      await tx.users.insert({ id: userId, username: 'admin', email: '', timezone: 'UTC', role: 'admin', active: true }, t);
      await issueToken(tx, { id: newId(t), userId, name: 'bootstrap', expiresAt: null, secret }, t);
      if (passwordHash) await tx.users.setPasswordHash(userId, passwordHash, t);
    });
  } catch (e) {
    // another server process bootstrapped at the same moment: that is fine
    if (e instanceof KnotError && e.type === ErrorType.Conflict) return { created: false };
    throw e;
  }
  logger.info({ username: 'admin', tokenSource: configured ? 'server.bootstrap_token' : 'generated' }, 'bootstrapped the admin user');
  return configured ? { created: true, username: 'admin' } : { created: true, username: 'admin', generatedToken: secret };
}
