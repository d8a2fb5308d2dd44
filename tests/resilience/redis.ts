/**
 * A private Redis for the store-restart scenario: its own dir and port, persistence on
 * (`appendonly yes`, fsync every write: what the Redis store asks of a production Redis), so a
 * SIGKILL loses nothing that was acknowledged. `start()` after `kill()` replays its append-only file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { findBin } from './mariadb';
import { privateServer, type PrivateServer } from './private-server';

export function redisAvailable(): boolean {
  return Boolean(findBin('redis-server') && findBin('redis-cli'));
}

export interface PrivateRedis extends PrivateServer {
  port: number;
  /** redis://127.0.0.1:<port>, the KNOT_TEST_REDIS form */
  url: string;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kredis-'));
  const port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  const server = privateServer({
    name: 'redis-server',
    bin: findBin('redis-server')!,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', logFile],
    dir,
    ready: () => spawnSync(findBin('redis-cli')!, ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5000 }).stdout.trim() === 'PONG',
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''),
    readyTimeoutMs: 30_000,
  });
  await server.start();
  return Object.assign(server, { port, url: `redis://127.0.0.1:${port}` });
}
