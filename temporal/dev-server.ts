/**
 * `temporal server start-dev` for the embedded setup: a database file under the data dir, the Web UI
 * on its port, knot's search attributes registered. Waits until the frontend answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTemporalBinary } from './binary';
import { ALL_SEARCH_ATTRIBUTES } from './names';

export interface DevServerOptions {
  /** `server.tools_dir` */
  toolsDir?: string;
  ip?: string;
  port?: number;
  uiPort?: number | null;
  namespace?: string;
  /** omitted → in-memory (tests); knot dev passes <data_dir>/temporal.db */
  dbFilename?: string;
  /** the server's Prometheus `/metrics` port; omitted → a random free port (not reported) */
  metricsPort?: number;
  /** more `temporal server start-dev` arguments, after knot's own (benchmarks try server options with it) */
  extraArgs?: string[];
  log?: (msg: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** `http://<ip>:<metricsPort>/metrics` when a metrics port was given */
  metricsUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, ip, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? (() => undefined);
  const bin = await ensureTemporalBinary('temporal', log, opts.toolsDir);
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(ip));
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace, '--log-level', 'warn', '--log-format', 'json'];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort), '--ui-ip', ip);
  else args.push('--headless');
  if (opts.dbFilename) {
    await mkdir(path.dirname(opts.dbFilename), { recursive: true });
    args.push('--db-filename', opts.dbFilename);
    // the same durability as knot's own SQLite store (store/sql/db.ts): a write-ahead log instead of
    // the rollback journal, synced at checkpoints. It survives any process crash, a power loss may
    // lose the last commits; it cut the server's CPU per lifecycle operation by a third (bench/RESULTS.md §14)
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.metricsPort) args.push('--metrics-port', String(opts.metricsPort));
  for (const sa of ALL_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${sa.name}=Keyword`);
  // the worker that completes a workflow task runs the activity it schedules at once, skipping a
  // round trip through the task queue (about 12 ms per lifecycle step); production clusters should
  // set the same dynamic config
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  // Naming this key at all keeps the server's search-attribute cache on: start-dev turns the cache
  // off unless the key is given, so every workflow start and visibility write read the attributes
  // from its database (9 cluster-metadata reads per lifecycle operation in the throughput bench).
  // knot's attributes are all registered above, before the server serves, so the cache never
  // misses one; a production cluster runs with the cache on.
  args.push('--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=false');
  args.push(...(opts.extraArgs ?? []));

  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.stdout?.resume();
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });

  const address = `${ip}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`temporal dev server exited (${exited}): ${stderr.trim()}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: '1s' });
      await conn.workflowService.describeNamespace({ namespace });
      await conn.close();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server did not become ready on ${address}: ${(e as Error).message}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  return {
    address,
    uiUrl: opts.uiPort ? `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${opts.uiPort}` : null,
    metricsUrl: opts.metricsPort ? `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${opts.metricsPort}/metrics` : null,
    process: child,
    async stop() {
      if (exited !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
