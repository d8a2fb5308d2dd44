/** The typed client: one method per API route, and the SSE parser. */
import { allRoutes } from '../../api/app';
import { agentStateRouteDoc } from '../../api/agent-routes';
import { CLIENT_ROUTES } from '../../client';
import { SseParser } from '../../client/sse';
import { KnotApiError } from '../../client/errors';

test('the client has a method route for every API route, and no route the API lacks', () => {
  const api = [...allRoutes(), agentStateRouteDoc].map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
  expect([...CLIENT_ROUTES].sort()).toEqual(api);
});

test('SSE parser: ids, multi-line data, comments, CRLF, chunk boundaries anywhere', () => {
  const stream = ': connected\r\nretry: 2000\n\nid: 7\ndata: {"a":\ndata: 1}\n\n: keep-alive\n\nid: 8\r\ndata: x\r\n\r\n';
  for (const size of [1, 3, 7, stream.length]) {
    const p = new SseParser();
    const out = [];
    for (let i = 0; i < stream.length; i += size) out.push(...p.push(stream.slice(i, i + size)));
    expect(out).toEqual([
      { id: '7', event: 'message', data: '{"a":\n1}' },
      { id: '8', event: 'message', data: 'x' },
    ]);
    expect(p.retryMs).toBe(2000);
  }
});

test('a problem answer becomes a typed KnotApiError', () => {
  const e = new KnotApiError(400, { type: 'https://knot.dev/problems/validation', title: 'Invalid request', status: 400, detail: 'name: bad', errors: [{ path: 'name', message: 'bad' }], requestId: 'r1' });
  expect(e).toMatchObject({ type: 'validation', status: 400, detail: 'name: bad', errors: [{ path: 'name', message: 'bad' }], requestId: 'r1', message: 'name: bad' });
});
