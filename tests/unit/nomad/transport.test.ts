/**
 * NomadClient's own HTTP transport (undici's pool, not fetch) against a real server on a loopback
 * port: timeouts, aborts, errors, re-resolution after a failed connection, and connection reuse.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { NomadClient, type NomadClientOptions } from '../../../nomad/client';
import { NomadError } from '../../../nomad/errors';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A stand-in Nomad whose answer each test sets; counts the TCP connections it accepts. */
class FakeNomad {
  readonly seen: Seen[] = [];
  readonly sockets = new Set<Socket>();
  connections = 0;
  /** requests whose connection the client closed before an answer */
  abandoned = 0;
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => void res.writeHead(200, { 'X-Nomad-Index': '7' }).end('[]');
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.on('close', () => {
          if (!res.writableEnded) this.abandoned++;
        });
        this.handle(req, res, body);
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let nomad: FakeNomad;
let port: number;
const clients: NomadClient[] = [];

function client(opts: Partial<NomadClientOptions> = {}): NomadClient {
  const c = new NomadClient({ addr: `http://127.0.0.1:${port}`, timeoutMs: 5000, ...opts });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  nomad = new FakeNomad();
  port = await nomad.listen();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await nomad.close();
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
}

async function nomadFailure(p: Promise<unknown>): Promise<NomadError> {
  const e = await failure(p);
  if (!(e instanceof NomadError)) throw new Error(`expected a NomadError, got ${String(e)}`);
  return e;
}

/**
 * undici opens a second connection when a pool's first call is sent while the first connection is
 * still being made; after a few calls the pools (ordinary and blocking) open no more.
 */
const WARM_UP_CALLS = 6;
async function warmUp(c: NomadClient): Promise<void> {
  for (let i = 0; i < WARM_UP_CALLS / 2; i++) await c.listJobs();
  for (let i = 0; i < WARM_UP_CALLS / 2; i++) await c.watchJobAllocations('warm', 0, 10);
}

/** A server that never answers: the request stays open until the client gives up. */
const hang = (): void => undefined;

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

it('sends the token, the JSON content type, namespace, region and query, and reads X-Nomad-Index', async () => {
  const c = client({ token: 'sekret', namespace: 'team a', region: 'eu' });
  nomad.handle = (_req, res) => void res.writeHead(200, { 'X-Nomad-Index': '42', 'Content-Type': 'application/json' }).end('[{"ID":"a1"}]');
  const watched = await c.watchJobAllocations('web/1', 5, 10);
  expect(watched).toEqual({ allocs: [{ ID: 'a1' }], index: 42 });
  nomad.handle = (_req, res) => void res.writeHead(200).end('{"EvalID":"e1"}');
  await c.registerJob({ ID: 'j' } as never);

  const [read, write] = nomad.seen;
  expect(read?.method).toBe('GET');
  expect(read?.url).toBe('/v1/job/web%2F1/allocations?namespace=team+a&region=eu&index=5&wait=10ms');
  expect(read?.headers['x-nomad-token']).toBe('sekret');
  expect(read?.headers['content-type']).toBeUndefined();
  expect(write).toMatchObject({ method: 'PUT', url: '/v1/jobs?namespace=team+a&region=eu', body: '{"Job":{"ID":"j"}}' });
  expect(write?.headers['content-type']).toBe('application/json');
  expect(write?.headers['content-length']).toBe(String(write?.body.length));
});

it('without a token sends no X-Nomad-Token, and a missing or odd X-Nomad-Index reads as 0', async () => {
  const c = client();
  nomad.handle = (_req, res) => void res.writeHead(200).end('[]');
  expect((await c.watchJobAllocations('j', 0, 10)).index).toBe(0);
  nomad.handle = (_req, res) => void res.writeHead(200, { 'X-Nomad-Index': 'soon' }).end('[]');
  expect((await c.watchJobAllocations('j', 0, 10)).index).toBe(0);
  expect(nomad.seen[0]?.headers['x-nomad-token']).toBeUndefined();
});

it('a non-2xx answer is a NomadError with the status and the body, and keeps the connection', async () => {
  const c = client();
  await warmUp(c);
  const opened = nomad.connections;
  nomad.handle = (_req, res) => void res.writeHead(500, { 'Content-Type': 'text/plain' }).end('No cluster leader');
  expect(await nomadFailure(c.listJobs())).toMatchObject({ nomadStatus: 500, nomadMessage: 'No cluster leader', retryable: true, endpoint: 'GET /v1/jobs' });
  nomad.handle = (_req, res) => void res.writeHead(400).end('Job spec is empty\n');
  expect(await nomadFailure(c.parseJob(''))).toMatchObject({ nomadStatus: 400, nomadMessage: 'Job spec is empty', retryable: false, type: 'nomad_request' });
  nomad.handle = (_req, res) => void res.writeHead(404).end('job not found');
  await expect(c.readJob('gone')).resolves.toBeNull();
  nomad.handle = (_req, res) => void res.writeHead(200).end('<html>');
  expect(await nomadFailure(c.listJobs())).toMatchObject({ nomadStatus: 200, retryable: false });
  expect(nomad.connections).toBe(opened);
});

it('a call that outlasts its timeout fails as a retryable "timed out after N ms", and the server sees it given up', async () => {
  const c = client({ timeoutMs: 150 });
  nomad.handle = hang;
  const started = Date.now();
  const e = await nomadFailure(c.listJobs());
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  expect(e).toMatchObject({ nomadStatus: 0, nomadMessage: 'timed out after 150 ms', retryable: true, type: 'nomad_unavailable' });
  expect((e.cause as Error).name).toBe('TimeoutError');
  await until('the server to see the abandoned request', () => nomad.abandoned === 1);

  // a per-call timeout wins over the client's
  const perCall = await nomadFailure(c.readJob('x', { timeoutMs: 60 }));
  expect(perCall.nomadMessage).toBe('timed out after 60 ms');
});

it("a caller's abort mid-request rethrows the abort itself, not a NomadError", async () => {
  const c = client();
  nomad.handle = hang;
  const caller = new AbortController();
  const call = c.listJobs({ signal: caller.signal });
  await until('the request to arrive', () => nomad.seen.length === 1);
  caller.abort();
  const e = await failure(call);
  expect(e).toBe(caller.signal.reason);
  expect((e as Error).name).toBe('AbortError');
  await until('the server to see the abandoned request', () => nomad.abandoned === 1);

  // already aborted: nothing is sent
  const reason = new Error('shutting down');
  await expect(c.listJobs({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  expect(nomad.seen).toHaveLength(1);
});

it('a blocking query holds the request until Nomad answers, and a caller can abort it', async () => {
  const c = client();
  // a blocking query answers when the state moves past the index: here, when the test says so
  let answer: (() => void) | undefined;
  nomad.handle = (_req, res) => {
    answer = () => void res.writeHead(200, { 'X-Nomad-Index': '9' }).end('[]');
  };
  const watching = c.watchJobAllocations('j', 8, 60_000, { timeoutMs: 100 });
  await until('the long poll to arrive', () => answer !== undefined);
  // its own timeout plus the wait: well past the 100 ms timeout, it is still waiting
  await new Promise((r) => setTimeout(r, 300));
  answer?.();
  await expect(watching).resolves.toEqual({ allocs: [], index: 9 });

  const caller = new AbortController();
  const abandoned = c.watchJobAllocations('j', 9, 60_000, { signal: caller.signal });
  await until('the second long poll to arrive', () => nomad.seen.length === 2);
  const started = Date.now();
  caller.abort(new Error('activity cancelled'));
  await expect(abandoned).rejects.toThrow('activity cancelled');
  expect(Date.now() - started).toBeLessThan(1000);
  await until('the server to see the long poll given up', () => nomad.abandoned === 1);
});

it('an abort while the answer body is still arriving rethrows the abort', async () => {
  const c = client();
  let bodyStarted = false;
  nomad.handle = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('[', () => (bodyStarted = true));
  };
  const caller = new AbortController();
  const call = c.listJobs({ signal: caller.signal });
  await until('the head and the first body byte to be sent', () => bodyStarted);
  caller.abort();
  expect(await failure(call)).toBe(caller.signal.reason);
});

it('a refused connection is a status-0 NomadError, and the next call looks the agent up again', async () => {
  const closed = new FakeNomad();
  const deadPort = await closed.listen();
  await closed.close();
  const targets = [deadPort, port];
  const resolveSrv = jest.fn(async () => [{ name: '127.0.0.1', port: targets.shift() ?? port, priority: 1, weight: 1 }]);
  const c = client({ addr: 'srv+_nomad._tcp.service.consul', resolveSrv });

  const e = await nomadFailure(c.listJobs());
  expect(e).toMatchObject({ nomadStatus: 0, retryable: true, type: 'nomad_unavailable', endpoint: 'GET /v1/jobs' });
  expect(e.nomadMessage).toMatch(/ECONNREFUSED/);
  expect(resolveSrv).toHaveBeenCalledTimes(1);

  await expect(c.listJobs()).resolves.toEqual([]);
  await expect(c.listJobs()).resolves.toEqual([]);
  expect(resolveSrv).toHaveBeenCalledTimes(2);
});

it('reuses its keep-alive connections for sequential calls', async () => {
  const c = client();
  await warmUp(c);
  const opened = nomad.connections;
  expect(opened).toBeLessThanOrEqual(4);
  for (let i = 0; i < 25; i++) await c.listJobs();
  for (let i = 0; i < 5; i++) await c.watchJobAllocations('j', 0, 10);
  for (let i = 0; i < 25; i++) await c.readJob(`j${i}`, { timeoutMs: 1000 });
  expect(nomad.seen).toHaveLength(55 + WARM_UP_CALLS);
  expect(nomad.connections).toBe(opened);
});

it('opens at most maxConnections per pool, queueing the rest', async () => {
  const c = client({ maxConnections: 3 });
  nomad.handle = (_req, res) => void setTimeout(() => res.writeHead(200).end('[]'), 30);
  const calls = Array.from({ length: 12 }, () => c.listJobs());
  await expect(Promise.all(calls)).resolves.toHaveLength(12);
  expect(nomad.connections).toBe(3);
});

it('long polls in flight do not hold up ordinary calls', async () => {
  const c = client({ maxConnections: 1 });
  let wake: (() => void) | undefined;
  nomad.handle = (req, res) => {
    if (req.url?.includes('index=')) wake = () => void res.writeHead(200, { 'X-Nomad-Index': '2' }).end('[]');
    else res.writeHead(200).end('[]');
  };
  const watching = c.watchJobAllocations('j', 1, 60_000);
  await until('the long poll to arrive', () => wake !== undefined);
  const started = Date.now();
  await expect(c.listJobs()).resolves.toEqual([]);
  expect(Date.now() - started).toBeLessThan(1000);
  wake?.();
  await expect(watching).resolves.toMatchObject({ index: 2 });
});

it('close() lets a call in flight finish, then closes its connections', async () => {
  const c = client();
  await c.listJobs();
  await c.watchJobAllocations('j', 0, 10);
  expect(nomad.sockets.size).toBe(2);
  nomad.handle = (_req, res) => void setTimeout(() => res.writeHead(200).end('[]'), 50);
  const inFlight = c.listJobs();
  await until('the call to arrive', () => nomad.seen.length === 3);
  await c.close();
  await expect(inFlight).resolves.toEqual([]);
  await until('the server to see the connections closed', () => nomad.sockets.size === 0);
  expect(await nomadFailure(c.listJobs())).toMatchObject({ nomadStatus: 0 });
});

it('an injected fetch is used instead of the pool, with the same timeout and errors', async () => {
  const calls: string[] = [];
  const observed: typeof fetch = (input, init) => {
    calls.push(`${init?.method} ${String(input)}`);
    return fetch(input, init);
  };
  const c = client({ fetch: observed, token: 't' });
  await expect(c.listJobs()).resolves.toEqual([]);
  expect(calls).toEqual([`GET http://127.0.0.1:${port}/v1/jobs`]);
  expect(nomad.seen[0]?.headers['x-nomad-token']).toBe('t');

  nomad.handle = (_req, res) => void res.writeHead(503).end('No cluster leader');
  expect(await nomadFailure(c.listJobs())).toMatchObject({ nomadStatus: 503, nomadMessage: 'No cluster leader' });
  nomad.handle = hang;
  expect(await nomadFailure(c.listJobs({ timeoutMs: 80 }))).toMatchObject({ nomadStatus: 0, nomadMessage: 'timed out after 80 ms' });
  const caller = new AbortController();
  const aborted = c.listJobs({ signal: caller.signal });
  await until('the request to arrive', () => nomad.seen.length === 4);
  caller.abort();
  expect(await failure(aborted)).toBe(caller.signal.reason);
});
