/**
 * A private MariaDB for the restart scenario: its own data dir and port, started with the same
 * mariadbd flags as scripts/services.sh, so killing it never disturbs the shared test server other
 * suites use. `kill()` is SIGKILL (a crash); `start()` starts it again on the same data dir.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';

export function findBin(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

export function mariadbAvailable(): boolean {
  return Boolean(findBin('mariadbd') && findBin('mariadb-install-db') && findBin('mariadb'));
}

export interface PrivateMariaDb {
  port: number;
  /** mysql://knot:knot@127.0.0.1:<port>, the KNOT_TEST_MYSQL form */
  url: string;
  readonly alive: boolean;
  start(): Promise<void>;
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateMariaDb(): Promise<PrivateMariaDb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmdb-'));
  const port = await freePort();
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const user = os.userInfo().username;
  const install = spawnSync(findBin('mariadb-install-db')!, ['--no-defaults', `--datadir=${datadir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let alive = false;

  const ping = () =>
    spawnSync(findBin('mariadb')!, ['--no-defaults', `--socket=${socket}`, '-uroot', '-e', 'SELECT 1'], { encoding: 'utf8', timeout: 5000 }).status === 0;

  const db: PrivateMariaDb = {
    port,
    url: `mysql://knot:knot@127.0.0.1:${port}`,
    get alive() {
      return alive;
    },
    async start() {
      if (alive) return;
      const c = spawn(
        findBin('mariadbd')!,
        [
          '--no-defaults',
          `--datadir=${datadir}`,
          `--socket=${socket}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--pid-file=${path.join(dir, 'mysqld.pid')}`,
          `--user=${user}`,
          '--skip-name-resolve',
          '--innodb-buffer-pool-size=64M',
          '--innodb-flush-log-at-trx-commit=2',
          '--max-connections=200',
          `--log-error=${path.join(dir, 'error.log')}`,
        ],
        { stdio: 'ignore' },
      );
      child = c;
      alive = true;
      exited = new Promise((r) => c.once('exit', () => r()));
      void exited.then(() => (alive = false));
      const deadline = Date.now() + 60_000;
      while (!ping()) {
        if (!alive || Date.now() > deadline) {
          const log = existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-2000) : '';
          throw new Error(`private mariadbd did not start: ${log}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const grant = spawnSync(
        findBin('mariadb')!,
        ['--no-defaults', `--socket=${socket}`, '-uroot', '-e', "CREATE USER IF NOT EXISTS 'knot'@'127.0.0.1' IDENTIFIED BY 'knot'; GRANT ALL ON *.* TO 'knot'@'127.0.0.1'; FLUSH PRIVILEGES;"],
        { encoding: 'utf8', timeout: 10_000 },
      );
      if (grant.status !== 0) throw new Error(`grant failed: ${grant.stderr}`);
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
  await db.start();
  return db;
}
