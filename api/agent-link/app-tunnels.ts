/**
 * Plain HTTP to a web port over pooled tunnels: a keep-alive pool of HTTP/1 connections to the
 * app where each connection is a CONNECT stream on the space's link (link/protocol.ts
 * POOLED_TUNNEL_HEADER). Per request there is then no new HTTP/2 stream and no HTTP parsing in
 * the agent (it only moves bytes between the stream and its TCP connection to the app); this
 * process parses the app's answer once. The one-request-per-stream relay (HTTP_RELAY_PREFIX)
 * stays for agents that do not echo the header.
 *
 * Isolation: a pool belongs to one link object and one port (`LinkStreams.appPools`), so a
 * connection is never reused for another space, another agent link of the same space, or another
 * port; the link's end destroys its pools. Every request is checked before it gets here
 * (port-requests.ts), as with the other relay.
 */
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { POOLED_TUNNEL_HEADER, POOLED_TUNNEL_HTTP } from '../../link/protocol';
import type { LinkStreams } from './link-streams';
import { appResponseHeaders, requestHeaders, originHost, type ProxyTarget } from './port-proxy';

/** How long a pooled connection may wait for the agent's CONNECT answer. */
const TUNNEL_OPEN_MS = 10_000;
/**
 * An idle pooled connection closes after this long (or a second before the app's own Keep-Alive
 * timeout when it announces a shorter one), so it is rarely met by an app that already closed it.
 */
const IDLE_MS = 4_000;

/** Tunnels whose agent echoed POOLED_TUNNEL_HEADER: only these are kept for another request. */
const poolable = new WeakSet<Duplex>();

/** The agent could not reach the port (its refusal's text), as the other relay's HTTP_RELAY_ERROR_HEADER answer. */
export class TunnelRefused extends Error {}

/**
 * The pool of one (link, port): Node's keep-alive http.Agent whose "sockets" are the link's
 * CONNECT streams. A stream is dressed with the few socket methods the Agent calls (keep-alive,
 * ref/unref: meaningless on a stream, the link itself holds the TCP connection).
 */
export class AppTunnelPool extends http.Agent {
  constructor(
    private readonly link: LinkStreams,
    private readonly port: number,
  ) {
    super({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo', timeout: IDLE_MS });
  }

  /** The pool of `link`'s `port`, made on first use. */
  static of(link: LinkStreams, port: number): AppTunnelPool {
    let pool = link.appPools.get(port) as AppTunnelPool | undefined;
    if (!pool) {
      pool = new AppTunnelPool(link, port);
      // a link that has ended has no sessions left to close: its pool is not kept (its tunnels fail at once)
      if (!link.isClosed) link.appPools.set(port, pool);
    }
    return pool;
  }

  override createConnection(_options: unknown, oncreate?: (err: Error | null, socket: Duplex) => void): undefined {
    const done = (err: Error | null, socket?: Duplex) => oncreate!(err, socket as Duplex);
    let stream: ClientHttp2Stream;
    try {
      stream = this.link.openPooledTunnel(this.port);
    } catch (e) {
      done(e as Error);
      return undefined;
    }
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!stream.destroyed) stream.close();
      done(e);
    };
    const timer = setTimeout(() => fail(new TunnelRefused(`nothing answered in time`)), TUNNEL_OPEN_MS);
    stream.once('response', (headers) => {
      const status = Number(headers[':status']);
      if (status !== 200) {
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (text = (text + c).slice(0, 300)));
        stream.once('end', () => fail(new TunnelRefused(text.trim() || `the agent answered ${status}`)));
        return;
      }
      settled = true;
      clearTimeout(timer);
      // an agent from before counts its tunnels as sessions: this one serves its request, then goes
      const echoed = headers[POOLED_TUNNEL_HEADER] === POOLED_TUNNEL_HTTP;
      this.link.pooledTunnels = echoed;
      if (echoed) poolable.add(stream);
      const socket = stream as ClientHttp2Stream & { setKeepAlive(): void; ref(): void; unref(): void };
      socket.setKeepAlive = socket.ref = socket.unref = () => {};
      // the app closed the connection: both directions end, the stream closes, the pool forgets it
      stream.once('end', () => {
        if (!stream.writableEnded) stream.end();
      });
      stream.on('error', () => {});
      done(null, stream);
    });
    stream.once('error', (e) => fail(e));
    stream.once('close', () => fail(new TunnelRefused('the agent closed the connection')));
    return undefined;
  }

  /** Closes the idle connections: one was found dead (the app restarted, or dropped idle ones), its siblings likely are too. */
  dropIdle(): void {
    for (const sockets of Object.values(this.freeSockets)) for (const socket of [...(sockets ?? [])]) socket.destroy();
  }

  override keepSocketAlive(socket: Duplex): boolean {
    // Node's returns false when the app's Keep-Alive hint leaves no time (its types say void)
    return poolable.has(socket) && !this.link.isClosed && (super.keepSocketAlive(socket as never) as unknown) !== false;
  }

  override reuseSocket(socket: Duplex, req: ClientRequest): void {
    super.reuseSocket(socket as never, req);
    // in use: no idle timeout (an event stream may be quiet for long); keepSocketAlive sets it again
    (socket as ClientHttp2Stream).setTimeout(0);
  }
}

/** Methods a client may repeat (RFC 9110 9.2.2): only these are retried on a pooled connection the app had closed. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Relays `req` to the app over the pool and streams the answer to `res`, with the same rewrites as
 * port-proxy.ts relayHttp. `onError` answers when the agent could not reach the app (a
 * TunnelRefused) or the connection failed before the answer began. An idempotent request without a
 * body that failed on a reused connection (the app closed it meanwhile, or restarted) is sent once
 * more, on a new one (the idle ones are dropped first); one with a body is not (it was consumed).
 */
export function relayPooled(req: IncomingMessage, res: ServerResponse, pool: AppTunnelPool, t: ProxyTarget, onError: (e: Error) => void): void {
  const headers = requestHeaders(req, t, false);
  if (headers.host === undefined) headers.host = originHost(t.publicOrigin);
  const method = req.method ?? 'GET';
  // HTTP/1.1 has a body only with one of these (RFC 9112 6.3)
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  let current: ClientRequest | null = null;
  const send = (retry: boolean) => {
    const out = http.request({ agent: pool, method, path: t.path, headers, setHost: false });
    current = out;
    out.once('response', (answer) => answered(answer));
    out.on('error', (e) => {
      if (res.headersSent) res.destroy();
      else if (retry && out.reusedSocket && !hasBody && IDEMPOTENT.has(method) && !res.destroyed) {
        // the retry must not meet another dead one
        pool.dropIdle();
        send(false);
      }
      else onError(e);
    });
    if (hasBody) req.pipe(out);
    else out.end();
  };
  const answered = (answer: IncomingMessage) => {
    try {
      res.writeHead(answer.statusCode ?? 502, appResponseHeaders(answer.headers, t));
    } catch (e) {
      answer.destroy();
      current?.destroy();
      onError(e as Error);
      return;
    }
    // an event stream or a long poll must not wait for its first body byte (as relayHttp); an
    // answer of a known length is of no use to the client before its body, which usually came in
    // the same read (then head and body share one write)
    if (answer.headers['content-length'] === undefined) {
      const flush = setImmediate(() => res.flushHeaders());
      const settle = () => clearImmediate(flush);
      answer.once('data', settle);
      answer.once('end', settle);
      answer.once('close', settle);
    }
    // the app's answer was cut (a reset, the link went): the client must not take it as whole
    answer.once('error', () => res.destroy());
    answer.once('close', () => {
      if (!answer.complete) res.destroy();
    });
    answer.pipe(res);
  };
  // the client went away before the answer ended: the app's request (and its connection) goes too
  res.once('close', () => {
    if (!res.writableFinished) current?.destroy();
  });
  if (!hasBody) req.resume();
  send(true);
}
