/**
 * A `fetch` over node:http with no connection reuse (`agent: false`): every request opens its own
 * TCP connection, so each event-stream connection through the test balancer is a balancer
 * connection of its own, whose backend the test can read. `onRequest` sees every request's headers
 * (the Last-Event-ID a reconnect sends).
 */
import http from 'node:http';
import { Readable } from 'node:stream';

export function plainFetch(onRequest?: (url: URL, headers: Record<string, string>) => void): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const headers = { ...((init?.headers ?? {}) as Record<string, string>) };
      onRequest?.(url, headers);
      const req = http.request(url, { method: init?.method ?? 'GET', headers, agent: false }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode ?? 502, headers: h }));
      });
      req.on('error', reject);
      const signal = init?.signal;
      if (signal) {
        if (signal.aborted) req.destroy(new Error('aborted'));
        else signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      }
      req.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}
