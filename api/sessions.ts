/**
 * Browser sessions: the `knot_session` cookie (HttpOnly, SameSite=Strict, Secure when server.url
 * is https) holds a random secret whose sha256 finds the session row; `knot_csrf` (readable by the
 * page, same attributes otherwise) holds the session's CSRF token, which every state-changing
 * request made with the cookie must repeat in `X-CSRF-Token` (double submit, bound to the session
 * row), and its Origin, when sent, must be this server's.
 */
import type { Request, Response } from 'express';
import { generateToken, hashToken, constantTimeEqual } from '../core/crypto';
import { parseDuration } from '../core/duration';
import { ErrorType, KnotError } from '../core/errors';
import type { Session, SignInMethod, User } from '../store/model';
import type { Services } from './context';

export const SESSION_COOKIE = 'knot_session';
export const CSRF_COOKIE = 'knot_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Cookies of a request (no cookie-parser dependency for two names). */
export function cookiesOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  const header = req.headers.cookie;
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name && !(name in out)) {
      try {
        out[name] = decodeURIComponent(value);
      } catch {
        out[name] = value;
      }
    }
  }
  return out;
}

export function sessionSecretOf(req: Request): string | null {
  const v = cookiesOf(req)[SESSION_COOKIE];
  return v && /^[A-Za-z0-9_-]{16,128}$/.test(v) ? v : null;
}

function secureCookies(svc: Services): boolean {
  return svc.config.server.url.startsWith('https:');
}

function cookie(name: string, value: string, opts: { httpOnly: boolean; maxAgeS: number; secure: boolean }): string {
  return [`${name}=${value}`, 'Path=/', `Max-Age=${opts.maxAgeS}`, 'SameSite=Strict', opts.httpOnly ? 'HttpOnly' : null, opts.secure ? 'Secure' : null].filter(Boolean).join('; ');
}

export function sessionTtlMs(svc: Services): number {
  return parseDuration(svc.config.server.session_ttl) ?? 7 * 24 * 3600_000;
}

/** Creates a session for a user and sets both cookies on the response. */
export async function startSession(svc: Services, req: Request, res: Response, user: User, method: SignInMethod): Promise<Session> {
  const secret = generateToken('');
  const now = svc.now();
  const ttl = sessionTtlMs(svc);
  const session = await svc.store.sessions.insert({
      id: svc.newId(),
      userId: user.id,
      sessionHash: hashToken(secret),
      csrfToken: generateToken(''),
      method,
      userAgent: String(req.headers['user-agent'] ?? ''),
      ip: req.ip ?? '',
      expiresAt: now + ttl,
    },
    now,
  );
  const secure = secureCookies(svc);
  const maxAgeS = Math.floor(ttl / 1000);
  res.setHeader('Set-Cookie', [
    cookie(SESSION_COOKIE, secret, { httpOnly: true, maxAgeS, secure }),
    cookie(CSRF_COOKIE, session.csrfToken, { httpOnly: false, maxAgeS, secure }),
  ]);
  return session;
}

export function clearSessionCookies(svc: Services, res: Response): void {
  const secure = secureCookies(svc);
  res.setHeader('Set-Cookie', [cookie(SESSION_COOKIE, '', { httpOnly: true, maxAgeS: 0, secure }), cookie(CSRF_COOKIE, '', { httpOnly: false, maxAgeS: 0, secure })]);
}

/** The origin a browser would send for a page of this server (the Host it was asked for). */
function ownOrigins(req: Request, svc: Services): string[] {
  const out = [new URL(svc.config.server.url).origin];
  const host = req.headers.host;
  if (host) out.push(`${req.protocol}://${host}`);
  return out;
}

/**
 * CSRF check for a request authenticated by the session cookie: safe methods pass; others need
 * `X-CSRF-Token` equal to the session's token, and a cross-site Origin is refused outright.
 */
export function checkCsrf(req: Request, svc: Services, session: Session): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null' && !ownOrigins(req, svc).includes(origin)) {
    throw new KnotError(ErrorType.Forbidden, `cross-site request refused: Origin ${origin} is not this server`);
  }
  const given = req.headers[CSRF_HEADER];
  if (typeof given !== 'string' || given === '' || !constantTimeEqual(given, session.csrfToken)) {
    throw new KnotError(ErrorType.Forbidden, 'missing or wrong X-CSRF-Token header (send the value of the knot_csrf cookie with requests that change state)', {
      errors: [{ path: 'header.X-CSRF-Token', message: 'must equal the knot_csrf cookie' }],
    });
  }
}
