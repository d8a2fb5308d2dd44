/**
 * SSH and a web port of a real Nomad `exec` space (issue 20): a space of the debian-exec example
 * template runs the real `knot agent` in its task (as agent-terminal.test.ts checks). Debian's
 * OpenSSH client, with the real `knot forward ssh` CLI as its ProxyCommand and the host key pinned
 * from GET /api/v1/spaces/:id/ssh, runs commands inside the task (its allocation, its home, its
 * chroot) with a key added through the API; scp goes both ways (the client's sftp-server is in the
 * chroot's /usr). `python3 -m http.server`, started inside the task over SSH, is reported by the
 * agent as a web port and answers through knot's path-form port proxy (bearer token) and from the
 * UI's Ports icon in Chromium. A stop ends the link, the job and the server.
 * Only `npm run test:nomad` runs it, when KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN name the binaries.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Space, SpaceSsh } from '../../client';
import { webRoot } from '../../api/web-app';
import { portAppPath } from '../../link/protocol';
import { NomadClient } from '../../nomad/client';
import { CHROMIUM, launchBrowser } from '../support/browser';
import { until } from '../support/wait';
import { CLI, type WorkerProcess } from '../support/worker-process';
import type { Harness as Api } from '../integration/api/harness';
import type { RealNomad } from './real-nomad';
import { startExecSpaceStack, type ExecSpaceStack } from './exec-space-stack';
import { DEFAULT_CHROOT_ENV, freePort, realNomadBinaries } from './agent';

const SSH = '/usr/bin/ssh';
const SCP = '/usr/bin/scp';
const KEYGEN = '/usr/bin/ssh-keygen';
const enabled = Boolean(realNomadBinaries() || process.env.KNOT_TEST_NOMAD_ADDR);
const haveOpenSsh = existsSync(SSH) && existsSync(KEYGEN);
if (!enabled) console.log('agent-ssh-ports skipped: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN (npm run test:nomad)');
else if (!haveOpenSsh) console.log('agent-ssh-ports skipped: no OpenSSH client (/usr/bin/ssh, /usr/bin/ssh-keygen)');
const suite = enabled && haveOpenSsh ? describe : describe.skip;

const ENCRYPT_KEY = Buffer.alloc(32, 12).toString('base64');
const ADMIN_PASSWORD = 'correct horse battery staple';
const SPACE = 'sshports';
/**
 * The tier's chroot (sh, coreutils and their libraries; Nomad's default would copy all of /usr) plus
 * what this suite runs inside the task: Debian's python3 (its binary is in /usr/bin, its standard
 * library in /usr/lib/python3.X) and OpenSSH's sftp-server (/usr/lib/openssh), for scp.
 */
const PYTHON_LIBS = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).map((d) => `/usr/lib/${d}`) : [];
const CHROOT_ENV: Record<string, string> = {
  ...DEFAULT_CHROOT_ENV,
  ...Object.fromEntries([...PYTHON_LIBS, '/usr/lib/openssh'].map((d) => [d, d])),
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** whether something accepts a TCP connection on 127.0.0.1:port */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

suite('SSH and a web port of a real Nomad exec space', () => {
  let nomadAgent: RealNomad;
  let nomad: NomadClient;
  let worker: WorkerProcess;
  let stack: ExecSpaceStack;
  let api: Api;
  let token: string;
  let id: string;
  let jobId: string;
  let tmp: string;
  let key: string;
  let knownHosts: string;
  let info: SpaceSsh;
  let webPort: number;
  const timings: Record<string, number> = {};
  const seen: Record<string, string> = {};

  /** the task's stderr/stdout from Nomad, for failure messages */
  const taskLogs = (): Promise<string> => stack.taskLogs(jobId);

  const space = (): Promise<Space> => api.client.as(token).getSpace(id);
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, KNOT_URL: api.url, KNOT_TOKEN: token, XDG_CONFIG_HOME: path.join(tmp, 'config') });
  /** plain OpenSSH options: no user config, knot as the ProxyCommand, the host key pinned */
  const sshOptions = () => [
    '-F', '/dev/null',
    '-o', `ProxyCommand=${process.execPath} ${CLI} forward ssh %h`,
    '-o', `HostKeyAlias=${info.sshConfigHost}`,
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'LogLevel=ERROR',
    '-i', key,
  ];
  const ssh = (command: string, timeoutMs?: number) => run(SSH, [...sshOptions(), `admin@${info.sshConfigHost}`, command], env(), timeoutMs);

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`no ${CLI}: run \`npx tsc -p tsconfig.build.json\` (npm run test:nomad builds it)`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'knot-nomad-ssh-'));
    key = path.join(tmp, 'id_ed25519');
    const keygen = await run(KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'nomad-ssh-test', '-f', key], process.env);
    expect(keygen.code).toBe(0);

    // the owner is the bootstrap admin: a bearer token for the API and a password for the browser
    stack = await startExecSpaceStack({ queuePrefix: 'real-ssh', encryptKey: ENCRYPT_KEY, chrootEnv: CHROOT_ENV, apiConfig: { KNOT_BOOTSTRAP_PASSWORD: ADMIN_PASSWORD } });
    ({ nomadAgent, nomad, worker, api } = stack);
    token = api.adminToken;
    // the real path: the key on the owner's account, through the API, before the space starts
    await api.client.as(token).addSshKey({ name: 'laptop', publicKey: readFileSync(`${key}.pub`, 'utf8') });
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    if (Object.keys(timings).length > 0) console.log(`real Nomad SSH/ports timings (ms): ${JSON.stringify(timings)}`);
    if (Object.keys(seen).length > 0) console.log(`inside the exec task: ${JSON.stringify(seen, null, 1)}`);
  }, 60_000);

  it('a started space links and offers SSH; the API gives the host key to pin', async () => {
    const created = await api.client.as(token).createSpace({ name: SPACE, template: 'debian-exec' } as never);
    id = created.id;
    const t0 = Date.now();
    await api.client.as(token).startSpace(id);
    const running = await until('the space to run', async () => {
      const s = await space();
      if (s.status.lastOperation?.status === 'failed') throw new Error(`start failed: ${JSON.stringify(s.status.lastOperation)}`);
      return s.status.phase === 'running' && s.status.lastOperation?.status === 'succeeded' ? s : null;
    }, 180_000, 200).catch(async (e: Error) => {
      throw new Error(`${e.message}\nworker: ${worker.output().slice(-1500)}\n${await taskLogs()}`);
    });
    timings['start → running'] = Date.now() - t0;
    jobId = running.status.nomadJobId!;
    await until('the agent to link with SSH', async () => {
      const s = await space();
      return s.status.agent.state === 'connected' && s.status.agent.services.ssh === true ? s : null;
    }, 60_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await taskLogs()}`);
    });
    timings['start → connected with ssh'] = Date.now() - t0;

    info = await api.client.as(token).getSpaceSsh(id);
    expect(info).toMatchObject({ spaceId: id, space: SPACE, owner: 'admin', sshConfigHost: `${SPACE}.knot` });
    expect(info.knownHostsLine).toBe(`${SPACE}.knot ${info.hostKey}`);
    knownHosts = path.join(tmp, 'known_hosts');
    writeFileSync(knownHosts, `${info.knownHostsLine}\n`);
  }, 300_000);

  it('ssh (knot forward ssh as ProxyCommand, host key pinned) runs commands inside the task', async () => {
    const alloc = (await nomad.jobAllocations(jobId)).find((a) => a.ClientStatus === 'running');
    expect(alloc).toBeDefined();

    const r = await ssh('echo "$NOMAD_ALLOC_ID"; pwd; echo "$HOME"; id -un; ls -1 / | tr "\\n" " "; echo; command -v python3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [allocId, pwd, home, user, root, python] = r.stdout.split('\n').map((l) => l.trim());
    Object.assign(seen, { NOMAD_ALLOC_ID: allocId!, pwd: pwd!, HOME: home!, user: user!, 'ls /': root!, python3: python! });
    // the allocation's own environment: the session runs inside the task Nomad started
    expect(allocId).toBe(alloc!.ID);
    // the task's home (the CSI home volume), not the test's working directory
    expect(pwd).toBe('/home');
    expect(pwd).toBe(home);
    expect(pwd).not.toBe(process.cwd());
    // the task's chroot: Nomad's task dirs, and none of the host's other top-level folders
    const entries = root!.split(/\s+/);
    expect(entries).toEqual(expect.arrayContaining(['alloc', 'local', 'secrets', 'home', 'usr']));
    expect(entries).not.toContain('work');
    expect(entries).not.toContain('root');
    // the chroot copies the host's /usr: Python is there for the web port below
    expect(python).toBe('/usr/bin/python3');

    // exit codes and stderr come back; the agent's token is not in the session's environment
    const failing = await ssh('echo oops >&2; env | grep -c KNOT_AGENT_TOKEN; exit 3');
    expect(failing.code).toBe(3);
    expect(failing.stdout.trim()).toBe('0');
    expect(failing.stderr).toContain('oops');

    // a round trip: a new connection through the CLI, the API and the link, one command
    const t0 = Date.now();
    const again = await ssh('true');
    timings['ssh round trip (connect + true)'] = Date.now() - t0;
    expect(again.code).toBe(0);
  }, 120_000);

  it('scp copies a file up into the home volume and back (the chroot has sftp-server)', async () => {
    const sftp = await ssh('ls /usr/lib/openssh/sftp-server');
    seen['sftp-server'] = sftp.code === 0 ? sftp.stdout.trim() : `none (${sftp.stderr.trim()})`;
    expect(sftp.code).toBe(0);
    const up = path.join(tmp, 'up.bin');
    const down = path.join(tmp, 'down.bin');
    writeFileSync(up, randomBytes(1024 * 1024));
    const put = await run(SCP, [...sshOptions(), up, `admin@${info.sshConfigHost}:copied.bin`], env(), 60_000);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const get = await run(SCP, [...sshOptions(), `admin@${info.sshConfigHost}:copied.bin`, down], env(), 60_000);
    expect(get.code).toBe(0);
    expect(sha256(down)).toBe(sha256(up));
    // it landed on the CSI home volume
    const vol = await nomad.readCsiVolume(`debian_${id}_home`);
    expect(sha256(path.join(nomadAgent.csiStateDir, vol!.ExternalID, 'copied.bin'))).toBe(sha256(up));
  }, 120_000);

  it('python3 -m http.server started inside the task is reported, and answers through the port proxy', async () => {
    webPort = await freePort();
    // setsid + nohup: the server outlives the SSH session; its output goes to the home volume
    const started = await ssh(`setsid nohup python3 -m http.server ${webPort} --bind 127.0.0.1 > /home/http.log 2>&1 < /dev/null & echo started`);
    expect(started.stderr).toBe('');
    expect(started.stdout.trim()).toBe('started');
    const t0 = Date.now();
    // the agent scans every 5 s and probes HTTP on the ports it finds
    await until(
      'the web port reported',
      async () => {
        const services = (await space()).status.agent.services as { ports?: number[]; httpPorts?: number[] };
        return services.ports?.includes(webPort) && services.httpPorts?.includes(webPort);
      },
      30_000,
      200,
    ).catch(async (e: Error) => {
      const log = await ssh('cat /home/http.log');
      throw new Error(`${e.message}\nhttp.log: ${log.stdout}${log.stderr}\nservices: ${JSON.stringify((await space()).status.agent.services)}`);
    });
    timings['http.server started → reported as a web port'] = Date.now() - t0;

    const url = api.url + portAppPath('admin', SPACE, webPort);
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    expect(res.status).toBe(200);
    // the listing of the server's working directory: the task's home, with the task's starts.log
    expect(body).toContain('Directory listing for /');
    expect(body).toContain('starts.log');
    expect(body).toContain('copied.bin');
    // without credentials the proxy refuses it
    const anonymous = await fetch(url, { redirect: 'manual' });
    expect(anonymous.status).not.toBe(200);
    // the request reached the server inside the task: its log has it
    const log = await ssh('cat /home/http.log');
    expect(log.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200/);
  }, 120_000);

  const browserReady = webRoot() !== null && existsSync(CHROMIUM);
  (browserReady ? it : it.skip)("the UI's Ports icon opens the web port in a new tab (Chromium)", async () => {
    const launched = await launchBrowser();
    try {
      const ctx = await launched.browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await ctx.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(api.url + '/');
      await page.getByLabel('Username', { exact: true }).fill('admin');
      await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor();
      const row = page.locator(`tr[data-space="${SPACE}"]`);
      const ports = row.getByRole('button', { name: 'Ports', exact: true });
      await ports.click();
      const menu = page.getByRole('group', { name: `Ports of ${SPACE}` });
      const link = menu.getByRole('link', { name: String(webPort), exact: true });
      expect(await link.getAttribute('href')).toBe(portAppPath('admin', SPACE, webPort));
      const [web] = await Promise.all([ctx.waitForEvent('page'), link.click()]);
      await web.getByRole('heading', { name: 'Directory listing for /' }).waitFor();
      await web.getByRole('link', { name: 'starts.log' }).waitFor();
      expect(web.url()).toBe(api.url + portAppPath('admin', SPACE, webPort));
    } finally {
      await launched.close();
    }
  }, 120_000);

  it('stop ends the link, the job and the web server; ssh then says the space is stopped', async () => {
    const t0 = Date.now();
    await api.client.as(token).stopSpace(id);
    await until('the space to stop', async () => {
      const s = await space();
      return s.status.phase === 'stopped' && s.status.lastOperation?.status === 'succeeded' ? s : null;
    }, 120_000, 200);
    timings['stop → stopped'] = Date.now() - t0;
    await until('the link to end', () => !api.links.get(id), 30_000, 50);
    expect((await space()).status.agent.state).toBe('disconnected');
    const jobs = (await nomad.listJobs({ meta: true })).filter((j) => j.Meta?.knot_space_id === id && !j.Stop);
    expect(jobs).toEqual([]);
    // the task's processes went with it, the detached http.server too
    await until('the web port to close', async () => !(await accepts(webPort)), 15_000, 100);
    const r = await ssh('true');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/knot: space '.*' is stopped/);
  }, 180_000);
});
