/**
 * The traffic of the SSH and port benchmarks, run as its own process (`node dist/bench/space-traffic.js
 * <mode> ...`) so neither the apps "inside the space" nor the load they get share an event loop or a
 * core with the API in the bench process: knot's side and the direct side then pay the same
 * process costs, and the difference is the relay alone.
 *
 *   serve                              TCP sink/source and a small HTTP app on 127.0.0.1; prints
 *                                      `{"tcp":<port>,"http":<port>}` and runs until stdin ends
 *   push <port> <bytes/conn> <conns>   uploads through <port>, each connection in parallel
 *   pull <port> <bytes/conn> <conns>   downloads through <port>
 *   http <url> <clients> <seconds>     keep-alive GET load (BENCH_BEARER: a bearer token)
 *   proxy <port>                       the least a Node.js relay can be (the yardstick for knot's):
 *                                      one keep-alive HTTP hop to 127.0.0.1:<port>, no checks;
 *                                      prints `{"proxy":<port>}` and runs until stdin ends
 *
 * The measuring modes print one JSON line on stdout.
 *
 * The TCP protocol: the first byte says what the connection is. `U` then bytes then the client's
 * FIN: the server answers the count and closes (so an upload is timed until every byte arrived,
 * not until it left the client). `D` + 8 bytes (a big-endian count): the server sends that many
 * bytes and closes. Anything else (the agent's HTTP probe of every listening port) is dropped.
 */
import http from 'node:http';
import net from 'node:net';

/** Chunks of this size are written while the socket accepts them (what `cat` of a file gives, roughly). */
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** The HTTP app's answer: a small response, so the relay's per-request cost is what is measured. */
const HELLO = Buffer.from('hello from inside the space\n');

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** Writes `bytes` bytes of CHUNK to `socket`, honouring backpressure; resolves when all were accepted. */
function writeBytes(socket: net.Socket, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void socket.once('drain', pump);
      }
      resolve();
    };
    socket.once('error', reject);
    pump();
  });
}

function tcpConnection(c: net.Socket): void {
  c.on('error', () => c.destroy());
  let mode: 'U' | 'D' | null = null;
  let header = Buffer.alloc(0);
  let received = 0;
  c.on('data', (d: Buffer) => {
    if (mode === 'U') return void (received += d.length);
    if (mode === 'D') return;
    header = Buffer.concat([header, d]);
    const first = String.fromCharCode(header[0]!);
    if (first === 'U') {
      mode = 'U';
      received = header.length - 1;
    } else if (first === 'D' && header.length >= 9) {
      mode = 'D';
      c.pause();
      const bytes = Number(header.readBigUInt64BE(1));
      void writeBytes(c, bytes).then(() => c.end(), () => c.destroy());
    } else if (first !== 'D') c.destroy();
  });
  c.on('end', () => {
    if (mode === 'U') c.end(`${received}\n`);
  });
}

async function serve(): Promise<void> {
  const tcp = net.createServer({ allowHalfOpen: true }, tcpConnection);
  const app = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length }).end(HELLO);
  });
  app.keepAliveTimeout = 30_000;
  const ports = { tcp: await listen(tcp), http: await listen(app) };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  // the parent ends stdin (or dies): stop then
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

async function proxy(target: number): Promise<void> {
  const pool = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const server = http.createServer((req, res) => {
    const out = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent: pool }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 30_000;
  process.stdout.write(`${JSON.stringify({ proxy: await listen(server) })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

/** One connection's transfer: resolves when the server confirmed the upload or the download ended. */
function transfer(port: number, bytes: number, direction: 'push' | 'pull'): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = 0;
    let reply = '';
    c.on('error', reject);
    c.on('connect', () => {
      if (direction === 'push') {
        c.write('U');
        void writeBytes(c, bytes).then(() => c.end(), reject);
      } else {
        const head = Buffer.alloc(9);
        head.write('D');
        head.writeBigUInt64BE(BigInt(bytes), 1);
        c.write(head);
      }
    });
    c.on('data', (d: Buffer) => {
      if (direction === 'pull') got += d.length;
      else reply += d.toString('latin1');
    });
    c.on('end', () => {
      c.end();
      const moved = direction === 'pull' ? got : Number(reply.trim());
      if (moved !== bytes) reject(new Error(`${direction}: ${moved} of ${bytes} bytes arrived`));
      else resolve(moved);
    });
  });
}

async function measureTransfer(direction: 'push' | 'pull', port: number, bytesPerConn: number, conns: number): Promise<void> {
  const t0 = performance.now();
  const moved = await Promise.all(Array.from({ length: conns }, () => transfer(port, bytesPerConn, direction)));
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ bytes: moved.reduce((a, b) => a + b, 0), ms })}\n`);
}

/** `clients` loops, each one GET after the other on a keep-alive pool of as many sockets, for `seconds`. */
async function measureHttp(url: string, clients: number, seconds: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const headers: Record<string, string> = process.env.BENCH_BEARER ? { authorization: `Bearer ${process.env.BENCH_BEARER}` } : {};
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const get = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get(url, { agent, headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          if (res.statusCode === 200) latencies.push(Math.round((performance.now() - t0) * 100) / 100);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) await get();
    }),
  );
  const ms = performance.now() - started;
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ ok: latencies.length, errors, statuses, ms, latencies })}\n`);
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  const n = (i: number) => Number(args[i]);
  if (mode === 'serve') return serve();
  if (mode === 'push' || mode === 'pull') return measureTransfer(mode, n(0), n(1), n(2));
  if (mode === 'http') return measureHttp(args[0]!, n(1), n(2));
  if (mode === 'proxy') return proxy(n(0));
  throw new Error(`space-traffic: unknown mode '${mode}' (serve, push, pull, http, proxy)`);
}

main().catch((e: unknown) => {
  process.stderr.write(`space-traffic: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
