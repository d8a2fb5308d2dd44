/**
 * A private Redis for the store-restart scenario: its own dir and port, persistence on
 * (`appendonly yes`, fsync every write: what the Redis store asks of a production Redis), so a
 * SIGKILL loses nothing that was acknowledged. `kill()` is SIGKILL (a crash); `start()` starts it
 * again on the same dir, replaying its append-only file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { findBin } from './mariadb';

export function redisAvailable(): boolean {
  return Boolean(findBin('redis-server') && findBin('redis-cli'));
}

export interface PrivateRedis {
  port: number;
  /** redis://127.0.0.1:<port>, the KNOT_TEST_REDIS form */
  url: string;
  readonly alive: boolean;
  start(): Promise<void>;
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kredis-'));
  const port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let alive = false;
  const ping = () => spawnSync(findBin('redis-cli')!, ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5000 }).stdout.trim() === 'PONG';

  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get alive() {
      return alive;
    },
    async start() {
      if (alive) return;
      const c = spawn(
        findBin('redis-server')!,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', logFile],
        { stdio: 'ignore' },
      );
      child = c;
      alive = true;
      exited = new Promise((r) => c.once('exit', () => r()));
      void exited.then(() => (alive = false));
      const deadline = Date.now() + 30_000;
      while (!ping()) {
        if (!alive || Date.now() > deadline) throw new Error(`private redis-server did not start: ${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (!alive || !child) return;
      child.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      if (alive && child) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child?.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.once('exit', () => {
    if (alive) child?.kill('SIGKILL');
  });
  await redis.start();
  return redis;
}
