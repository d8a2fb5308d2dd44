/**
 * The web UI's one door to the server: the typed client (client/) over the browser session. The
 * session cookie is HttpOnly and sent by the browser itself; requests that change state repeat
 * the knot_csrf cookie in X-CSRF-Token. Pages import `api()` and never call fetch.
 */
import { KnotClient } from '../../client';

export { KnotApiError, isKnotApiError } from '../../client/errors';
export type * from '../../client/types';

function csrfCookie(): string {
  const m = /(?:^|;\s*)knot_csrf=([^;]*)/.exec(document.cookie);
  return m?.[1] ? decodeURIComponent(m[1]) : '';
}

let current: KnotClient | null = null;
let csrf = '';

/** The client for this page's session (rebuilt when the CSRF token changes, e.g. after sign-in). */
export function api(): KnotClient {
  const token = csrfCookie();
  if (!current || token !== csrf) {
    csrf = token;
    // a bound fetch: the client calls it as a method, which the browser's fetch refuses (Illegal invocation)
    current = new KnotClient({ url: location.origin, token: null, timeoutMs: 30_000, fetch: (input, init) => fetch(input, init), headers: token ? { 'x-csrf-token': token } : {} });
  }
  return current;
}
