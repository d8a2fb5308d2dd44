/**
 * A private MariaDB for the restart scenario: its own data dir and port, started with the same
 * mariadbd flags as scripts/services.sh, so killing it never disturbs the shared test server other
 * suites use. `kill()` is SIGKILL (a crash); `start()` starts it again on the same data dir.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { privateServer, type PrivateServer } from './private-server';

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

export interface PrivateMariaDb extends PrivateServer {
  port: number;
  /** mysql://knot:knot@127.0.0.1:<port>, the KNOT_TEST_MYSQL form */
  url: string;
}

export async function startPrivateMariaDb(): Promise<PrivateMariaDb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmdb-'));
  const port = await freePort();
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const errorLog = path.join(dir, 'error.log');
  const user = os.userInfo().username;
  const install = spawnSync(findBin('mariadb-install-db')!, ['--no-defaults', `--datadir=${datadir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
  const sql = (statement: string, timeout: number) => spawnSync(findBin('mariadb')!, ['--no-defaults', `--socket=${socket}`, '-uroot', '-e', statement], { encoding: 'utf8', timeout });
  const server = privateServer({
    name: 'mariadbd',
    bin: findBin('mariadbd')!,
    args: [
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
      `--log-error=${errorLog}`,
    ],
    dir,
    ready: () => sql('SELECT 1', 5000).status === 0,
    log: () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-2000) : ''),
    readyTimeoutMs: 60_000,
    afterStart() {
      const grant = sql("CREATE USER IF NOT EXISTS 'knot'@'127.0.0.1' IDENTIFIED BY 'knot'; GRANT ALL ON *.* TO 'knot'@'127.0.0.1'; FLUSH PRIVILEGES;", 10_000);
      if (grant.status !== 0) throw new Error(`grant failed: ${grant.stderr}`);
    },
  });
  await server.start();
  return Object.assign(server, { port, url: `mysql://knot:knot@127.0.0.1:${port}` });
}
