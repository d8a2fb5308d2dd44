import { Agent, type Dispatcher } from 'undici';

export type FetchFn = typeof fetch;

/** One HTTP exchange with the Nomad agent; `signal` ends it (timeout or the caller's abort). */
export interface HttpCall {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
  /** a blocking query (long poll): holds its connection for up to its wait time */
  blocking: boolean;
}

export interface HttpAnswer {
  status: number;
  text: string;
  /** the X-Nomad-Index header as sent, null when absent */
  index: string | null;
}

/**
 * How NomadClient talks HTTP. It rejects with the signal's reason when the signal aborts, and
 * with the network error when there is no HTTP answer; any status is an answer.
 */
export interface NomadTransport {
  send(call: HttpCall): Promise<HttpAnswer>;
  /** Lets in-flight calls finish, then closes the connections. */
  close(): Promise<void>;
}

/** Per origin and per pool: bounds the sockets one client opens to one Nomad agent. */
export const DEFAULT_MAX_CONNECTIONS = 64;

/** A caller's fetch (tests inject theirs to observe or fault calls). */
export function fetchTransport(fetchFn: FetchFn): NomadTransport {
  return {
    async send(call) {
      const res = await fetchFn(call.url, { method: call.method, headers: call.headers, body: call.body, signal: call.signal });
      const index = res.headers.get('x-nomad-index');
      return { status: res.status, index, text: await res.text() };
    },
    close: () => Promise.resolve(),
  };
}

/**
 * The default: undici's dispatcher API straight, without fetch's WHATWG streams and Headers, which
 * cost a noticeable share of the worker's CPU per Nomad call. Keep-alive connections are reused.
 * Blocking queries get a pool of their own so that long polls in flight (one per waiting
 * activity) cannot take every connection and hold short calls in the queue for seconds.
 * TLS uses Node's defaults, as fetch did: the system CAs plus NODE_EXTRA_CA_CERTS.
 */
export function undiciTransport(maxConnections = DEFAULT_MAX_CONNECTIONS): NomadTransport {
  let calls: Agent | undefined;
  let longPolls: Agent | undefined;
  let closed: Promise<void> | undefined;
  const agent = (blocking: boolean): Agent =>
    blocking ? (longPolls ??= new Agent({ connections: maxConnections })) : (calls ??= new Agent({ connections: maxConnections }));
  return {
    async send(call) {
      const res = await agent(call.blocking).request({
        origin: call.url.origin,
        path: `${call.url.pathname}${call.url.search}`,
        method: call.method as Dispatcher.HttpMethod,
        headers: call.headers,
        body: call.body,
        signal: call.signal,
      });
      const header = res.headers['x-nomad-index'];
      // a repeated header reads as fetch's Headers.get joins it (and then is no number)
      const index = header === undefined ? null : Array.isArray(header) ? header.join(', ') : header;
      return { status: res.statusCode, index, text: await res.body.text() };
    },
    close() {
      // an Agent refuses a second close: make it idempotent, as callers' shutdowns may overlap
      closed ??= Promise.all([calls?.close(), longPolls?.close()]).then(() => undefined);
      return closed;
    },
  };
}
