/**
 * A tiny TCP round-robin load balancer for tests with several API replicas: one URL in front of
 * them for clients and agents. Each accepted connection goes to the next backend in turn; a backend
 * that refuses (or does not answer within `connectTimeoutMs`) is skipped and the next one tried, so
 * a killed replica is routed around. Bytes are piped both ways untouched (HTTP, SSE, WebSocket
 * upgrades alike). When either side's socket dies the other is destroyed at once: a client of a
 * killed replica sees its connection drop (and reconnects) rather than hang.
 */
import net from 'node:net';

export interface BalancerBackend {
  host: string;
  port: number;
}

export interface BalancedConnection {
  /** the backend's index in `backends` */
  backend: number;
  /** when it was accepted (ms) */
  at: number;
  /** whether it is still open */
  open: boolean;
}

export interface TcpBalancer {
  url: string;
  port: number;
  /** every connection so far, in accept order */
  readonly connections: readonly BalancedConnection[];
  /** connections accepted per backend index */
  readonly accepted: number[];
  /** open connections to backend `i` */
  openTo(i: number): number;
  /**
   * Holds (true) or lets go (false) what clients send: held, their bytes are kept in the balancer
   * (new connections are made but carry nothing) and requests hang as on a stalled network; let
   * go, everything held goes through in order.
   */
  hold(held: boolean): void;
  /** bytes clients sent that are being held (0 when nothing is waiting) */
  readonly heldBytes: number;
  /** destroys every open connection (both sides) and stops listening */
  close(): Promise<void>;
}

export interface TcpBalancerOptions {
  host?: string;
  /** 0 = ephemeral (default) */
  port?: number;
  connectTimeoutMs?: number;
}

/** Backends as URLs (`http://127.0.0.1:3001`) or host/port pairs. */
export async function startTcpBalancer(backends: (string | BalancerBackend)[], opts: TcpBalancerOptions = {}): Promise<TcpBalancer> {
  const targets: BalancerBackend[] = backends.map((b) => (typeof b === 'string' ? { host: new URL(b).hostname, port: Number(new URL(b).port) } : b));
  if (targets.length === 0) throw new Error('a balancer needs at least one backend');
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
  const connections: BalancedConnection[] = [];
  const accepted = targets.map(() => 0);
  const sockets = new Set<net.Socket>();
  interface Pair {
    client: net.Socket;
    upstream: net.Socket;
    /** chunks read from the client while held, and the listener that reads them */
    kept: Buffer[];
    keep: ((d: Buffer) => void) | null;
  }
  const pairs = new Set<Pair>();
  let held = false;
  let heldBytes = 0;
  let next = 0;
  const flow = (p: Pair) => {
    if (p.keep) p.client.removeListener('data', p.keep);
    p.keep = null;
    for (const d of p.kept.splice(0)) {
      heldBytes -= d.length;
      p.upstream.write(d);
    }
    p.client.pipe(p.upstream);
    p.client.resume();
  };
  const keep = (p: Pair) => {
    p.client.unpipe(p.upstream);
    p.keep = (d: Buffer) => {
      heldBytes += d.length;
      p.kept.push(d);
    };
    p.client.on('data', p.keep);
    p.client.resume();
  };

  const dial = (target: BalancerBackend): Promise<net.Socket | null> =>
    new Promise((resolve) => {
      const s = net.connect({ host: target.host, port: target.port });
      const fail = () => {
        clearTimeout(timer);
        s.destroy();
        resolve(null);
      };
      const timer = setTimeout(fail, connectTimeoutMs);
      s.once('error', fail);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeListener('error', fail);
        resolve(s);
      });
    });

  const server = net.createServer((client) => {
    sockets.add(client);
    client.pause();
    client.on('error', () => client.destroy());
    client.once('close', () => sockets.delete(client));
    void (async () => {
      const first = next;
      next = (next + 1) % targets.length;
      for (let i = 0; i < targets.length; i++) {
        const index = (first + i) % targets.length;
        const upstream = await dial(targets[index]!);
        if (!upstream) continue;
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        sockets.add(upstream);
        const conn: BalancedConnection = { backend: index, at: Date.now(), open: true };
        connections.push(conn);
        accepted[index]!++;
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        const pair: Pair = { client, upstream, kept: [], keep: null };
        pairs.add(pair);
        const end = () => {
          conn.open = false;
          if (pairs.delete(pair)) for (const d of pair.kept.splice(0)) heldBytes -= d.length;
          client.destroy();
          upstream.destroy();
        };
        upstream.on('error', end);
        upstream.once('close', () => {
          sockets.delete(upstream);
          end();
        });
        client.once('close', end);
        upstream.pipe(client);
        if (held) keep(pair);
        else flow(pair);
        return;
      }
      // every backend refused: the client sees its connection closed
      client.destroy();
    })();
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    connections,
    accepted,
    openTo: (i) => connections.filter((c) => c.open && c.backend === i).length,
    hold(on) {
      if (held === on) return;
      held = on;
      for (const p of pairs) (on ? keep : flow)(p);
    },
    get heldBytes() {
      return heldBytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
