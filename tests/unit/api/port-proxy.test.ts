/** The pure parts of reaching a space's ports: app hosts, redirects and cookies rewritten, CONNECT targets, the HTTP probe's cache. */
import { appHostOf } from '../../../api/agent-link/port-requests';
import { appCookies, rewriteLocation, rewriteSetCookie } from '../../../api/agent-link/port-proxy';
import { connectTarget } from '../../../agent/port-tunnel';
import { appRequestHeaders, relayResponseHeaders } from '../../../agent/http-relay';
import { httpRelayPath, parseHttpRelayPath } from '../../../link/protocol';
import { HttpPortProber } from '../../../agent/http-probe';

describe('port addresses and rewrites', () => {
  it('reads app hosts under the wildcard domain only', () => {
    expect(appHostOf('Alice--dev--8080.knot.example.com', '*.knot.example.com')).toEqual({ owner: 'alice', space: 'dev', port: 8080, host: 'alice--dev--8080.knot.example.com' });
    expect(appHostOf('bob--my-app--3000.localhost:5000', '*.localhost')).toMatchObject({ owner: 'bob', space: 'my-app', port: 3000, host: 'bob--my-app--3000.localhost:5000' });
    expect(appHostOf('knot.example.com', '*.example.com')).toBeNull();
    expect(appHostOf('a--b--99999.localhost', '*.localhost')).toBeNull();
    expect(appHostOf('x.alice--dev--80.localhost', '*.localhost')).toBeNull();
    expect(appHostOf('alice--dev--80.localhost', '')).toBeNull();
  });

  it('moves redirects under the prefix, leaving foreign ones alone', () => {
    const t = { prefix: '/spaces/a/s/ports/80', publicOrigin: 'https://knot.test', port: 80 };
    expect(rewriteLocation('/login', t)).toBe('/spaces/a/s/ports/80/login');
    expect(rewriteLocation('/spaces/a/s/ports/80/x', t)).toBe('/spaces/a/s/ports/80/x');
    expect(rewriteLocation('http://127.0.0.1:80/y?z=1', t)).toBe('https://knot.test/spaces/a/s/ports/80/y?z=1');
    expect(rewriteLocation('https://github.com/login', t)).toBe('https://github.com/login');
    expect(rewriteLocation('next', t)).toBe('next');
    expect(rewriteLocation('//evil.example/', t)).toBe('//evil.example/');
    expect(rewriteLocation('http://localhost:80/', { ...t, prefix: '', publicOrigin: 'http://a--s--80.knot.test' })).toBe('http://a--s--80.knot.test/');
  });

  it('keeps app cookies to the app and drops knot names and Domain', () => {
    expect(rewriteSetCookie('a=1; Path=/; Domain=example.com; HttpOnly', '/p')).toBe('a=1; Path=/p/; HttpOnly');
    expect(rewriteSetCookie('a=1', '/p')).toBe('a=1; Path=/p/');
    expect(rewriteSetCookie('a=1; path=/p/x', '/p')).toBe('a=1; Path=/p/x');
    expect(rewriteSetCookie('knot_session=x; Path=/', '/p')).toBeNull();
    expect(rewriteSetCookie('a=1; Path=/', '')).toBe('a=1; Path=/');
    expect(appCookies('knot_session=s; a=1; knot_port_session=p; knot_csrf=c; b=2')).toBe('a=1; b=2');
    expect(appCookies('knot_session=s')).toBeNull();
  });

  it('names the port and app path of a relayed request, and nothing else', () => {
    expect(parseHttpRelayPath(httpRelayPath(8080, '/a/b?c=1'))).toEqual({ port: 8080, appPath: '/a/b?c=1' });
    expect(parseHttpRelayPath(httpRelayPath(3000, '/'))).toEqual({ port: 3000, appPath: '/' });
    expect(parseHttpRelayPath('/v1/http/8080')).toEqual({ port: 8080, appPath: '/' });
    for (const bad of ['/v1/http/0/', '/v1/http/65536/', '/v1/http/x/', '/v1/http/80x/', '/v1/state', '/v1/http//a']) expect(parseHttpRelayPath(bad)).toBeNull();
  });

  it('relays app headers without connection-specific ones, Host from :authority', () => {
    const out = appRequestHeaders({ ':method': 'GET', ':path': '/v1/http/1/', ':authority': 'knot.example:8080', ':scheme': 'http', accept: 'text/html', host: 'evil', connection: 'close', 'x-forwarded-host': 'knot.example:8080' });
    expect(out).toEqual({ accept: 'text/html', host: 'knot.example:8080', 'x-forwarded-host': 'knot.example:8080' });
    expect(relayResponseHeaders(200, { 'content-type': 'text/plain', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'] })).toEqual({
      ':status': 200,
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
    });
  });

  it('tunnels only to loopback, never to the agent itself', () => {
    expect(connectTarget('127.0.0.1:8080', [3000])).toEqual({ port: 8080 });
    expect(connectTarget('127.0.0.1:3000', [3000])).toMatchObject({ status: 403 });
    expect(connectTarget('10.0.0.1:22', [])).toMatchObject({ status: 403 });
    expect(connectTarget('127.0.0.1:0', [])).toMatchObject({ status: 400 });
    expect(connectTarget(undefined, [])).toMatchObject({ status: 400 });
  });

  it('probes a port at most every 5 s, and not again once it answered HTTP', async () => {
    let now = 0;
    const asked: number[] = [];
    const prober = new HttpPortProber(async (p) => (asked.push(p), p === 80), () => now);
    expect(await prober.httpPorts([80, 22])).toEqual([80]);
    now = 1000;
    await prober.httpPorts([80, 22]);
    expect(asked).toEqual([80, 22]);
    now = 6000;
    await prober.httpPorts([80, 22]);
    expect(asked).toEqual([80, 22, 22]);
    // gone and back: asked again
    await prober.httpPorts([22]);
    expect(await prober.httpPorts([80])).toEqual([80]);
    expect(asked).toEqual([80, 22, 22, 80]);
  });
});
