/**
 * Starts a real Nomad agent for the real-Nomad test tier (`npm run test:nomad`): `nomad agent -dev`
 * from a binary the caller is given (KNOT_NOMAD_BIN; nothing here builds or downloads one), on free
 * loopback ports, with its own temporary data dir, and the CSI hostpath plugin (KNOT_CSI_HOSTPATH_BIN)
 * registered as a raw_exec `system` job, monolith type, plugin id `hostpath`.
 *
 * `startNomadAgent` resolves once the agent answers /v1/agent/self, its node is ready with the
 * `exec` and `raw_exec` drivers healthy, and the plugin reports a healthy controller and node.
 * Every wait has an upper bound; on any failure the agent is stopped and its files removed before
 * the error (with the tail of the agent's log) is thrown. `stop()` is idempotent: it stops the agent
 * by its pid (dev mode destroys its allocations on shutdown), kills it if it does not exit, unmounts
 * what allocations left mounted under the data dir, removes the data dir and the agent's cgroups.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmdirSync, writeFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface NomadAgentOptions {
  nomadBin: string;
  csiBin: string;
  /** Upper bound for the agent to answer and its node to become ready. Default 60 s. */
  startTimeoutMs?: number;
  /** Upper bound for the hostpath plugin to become healthy. Default 60 s. */
  pluginTimeoutMs?: number;
  /** Fixed HTTP/RPC/Serf ports instead of free ones (e.g. for a long-lived probe agent). */
  ports?: { http: number; rpc: number; serf: number };
  /**
   * What the `exec` driver copies into each task's chroot (client chroot_env). Nomad's default
   * copies all of /usr (gigabytes, tens of seconds per allocation); the default here is what a
   * shell task needs on a merged-/usr Debian: sh, coreutils and their libraries.
   */
  chrootEnv?: Record<string, string>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface NomadAgent {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The dev agent's one client node. */
  nodeId: string;
  /** Temporary folder holding the config, the agent log, data/ and csi-state/. */
  dir: string;
  /** The hostpath plugin's --statedir: each volume's data lives in <csiStateDir>/<ExternalID>. */
  csiStateDir: string;
  /** The agent's log file (stdout and stderr). */
  logFile: string;
  pid: number;
  /** Stops the agent and removes everything it left; safe to call more than once. */
  stop(): Promise<void>;
}

/** The plugin job's ID; tests that list jobs should filter by their own prefix. */
export const CSI_PLUGIN_JOB_ID = 'knot-csi-hostpath-plugin';
export const CSI_PLUGIN_ID = 'hostpath';

export const DEFAULT_CHROOT_ENV: Readonly<Record<string, string>> = {
  '/bin': '/bin',
  '/lib': '/lib',
  '/lib64': '/lib64',
  '/sbin': '/sbin',
  '/usr/bin': '/usr/bin',
  '/usr/sbin': '/usr/sbin',
  '/usr/lib64': '/usr/lib64',
  '/usr/lib/x86_64-linux-gnu': '/usr/lib/x86_64-linux-gnu',
  '/etc/ld.so.cache': '/etc/ld.so.cache',
  '/etc/passwd': '/etc/passwd',
  '/etc/group': '/etc/group',
  '/etc/nsswitch.conf': '/etc/nsswitch.conf',
};

/** True when both binaries are set and executable — the condition for running the tier. */
export function realNomadBinaries(env: NodeJS.ProcessEnv = process.env): { nomadBin: string; csiBin: string } | undefined {
  const nomadBin = env.KNOT_NOMAD_BIN;
  const csiBin = env.KNOT_CSI_HOSTPATH_BIN;
  const executable = (p: string | undefined): p is string => {
    if (!p) return false;
    try {
      return statSync(p).isFile() && (statSync(p).mode & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  return executable(nomadBin) && executable(csiBin) ? { nomadBin, csiBin } : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Three distinct free ports (a port freed by one probe could otherwise be handed out twice). */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n && tries < 50; tries++) ports.add(await freePort());
  if (ports.size < n) throw new Error('could not find free loopback ports');
  return [...ports];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url} → ${res.status} ${await res.text()}`);
  return res.json();
}

async function sendJson(method: string, url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method, body: JSON.stringify(body), signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Polls until `probe` yields a value (not undefined); throws `what` with the last error after `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, alive: () => void): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    alive();
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms${last ? ` (last: ${last})` : ''}`);
    await sleep(250);
  }
}

function pluginJobHcl(csiBin: string, nodeId: string, dataDir: string, stateDir: string): string {
  // HCL blocks must be multi-line for Nomad's parser.
  return `job "${CSI_PLUGIN_JOB_ID}" {
  datacenters = ["*"]
  type        = "system"
  group "plugin" {
    task "plugin" {
      driver = "raw_exec"
      config {
        command = "${csiBin}"
        args = [
          "--drivername=hostpath.csi.k8s.io",
          "--endpoint=\${CSI_ENDPOINT}",
          "--nodeid=${nodeId}",
          "--statedir=${stateDir}",
        ]
      }
      csi_plugin {
        id                     = "${CSI_PLUGIN_ID}"
        type                   = "monolith"
        mount_dir              = "/csi"
        stage_publish_base_dir = "${dataDir}/client/csi/monolith/${CSI_PLUGIN_ID}"
      }
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
`;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((m) => m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

function unmountAll(dir: string, log: (l: string) => void): void {
  for (let pass = 0; pass < 3; pass++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'ignore' });
        } catch {
          log(`could not unmount ${m}`);
        }
      }
    }
  }
}

/** Removes a cgroup (v1: one folder per controller) depth-first; cgroup folders only go with rmdir. */
function removeCgroup(dirPath: string): void {
  if (!existsSync(dirPath)) return;
  for (const e of readdirSync(dirPath, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(path.join(dirPath, e.name));
  try {
    rmdirSync(dirPath);
  } catch {
    // A cgroup that still holds a process stays; it is empty once the task exits.
  }
}

function removeCgroups(parent: string): void {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  removeCgroup(path.join(root, parent));
  for (const ctrl of readdirSync(root)) removeCgroup(path.join(root, ctrl, parent));
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function startNomadAgent(opts: NomadAgentOptions): Promise<NomadAgent> {
  const log = opts.log ?? ((): void => {});
  const dir = mkdtempSync(path.join(tmpdir(), 'knot-nomad-'));
  const dataDir = path.join(dir, 'data');
  const stateDir = path.join(dir, 'csi-state');
  const logFile = path.join(dir, 'agent.log');
  const configFile = path.join(dir, 'agent.hcl');
  // Its own cgroup parent, so two agents on one machine never touch each other's cgroups.
  const cgroupParent = `knot-nomad-${path.basename(dir).slice('knot-nomad-'.length)}`;
  const [http, rpc, serf] = opts.ports ? [opts.ports.http, opts.ports.rpc, opts.ports.serf] : ((await freePorts(3)) as [number, number, number]);
  writeFileSync(
    configFile,
    `data_dir  = "${dataDir}"
bind_addr = "127.0.0.1"
ports {
  http = ${http}
  rpc  = ${rpc}
  serf = ${serf}
}
client {
  cgroup_parent = "/${cgroupParent}"
  chroot_env {
${Object.entries(opts.chrootEnv ?? DEFAULT_CHROOT_ENV)
  .filter(([src]) => existsSync(src))
  .map(([src, dst]) => `    "${src}" = "${dst}"`)
  .join('\n')}
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`,
  );
  const out = openSync(logFile, 'a');
  const child = spawn(opts.nomadBin, ['agent', '-dev', `-config=${configFile}`], { stdio: ['ignore', out, out] });
  closeSync(out);
  const url = `http://127.0.0.1:${http}`;
  log(`nomad agent pid ${child.pid} on ${url}, data ${dataDir}`);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        if (!(await waitForExit(child, 30_000))) {
          log('nomad agent did not exit after SIGINT; killing it');
          child.kill('SIGKILL');
          await waitForExit(child, 10_000);
        }
      }
      unmountAll(dir, log);
      removeCgroups(cgroupParent);
      // the exec driver copies its chroot into every allocation: after a long scenario that is
      // gigabytes of small files, minutes to remove; a detached `rm` does it after the test ends
      // (nothing is mounted under it any more; `--one-file-system` would skip anything still mounted)
      spawn('rm', ['-rf', '--one-file-system', dir], { detached: true, stdio: 'ignore' }).unref();
    })();
    return stopped;
  };
  const alive = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nomad agent exited (${child.exitCode ?? child.signalCode})`);
    }
  };

  try {
    if (child.pid === undefined) throw new Error(`could not start ${opts.nomadBin}`);
    const startMs = opts.startTimeoutMs ?? 60_000;
    await until('nomad agent did not answer /v1/agent/self', startMs, () => getJson(`${url}/v1/agent/self`), alive);
    const nodeId = await until(
      'nomad node did not become ready with healthy exec and raw_exec drivers',
      startMs,
      async () => {
        const nodes = (await getJson(`${url}/v1/nodes`)) as { ID: string; Status: string; Drivers?: Record<string, { Healthy?: boolean }> }[];
        const node = nodes.find((n) => n.Status === 'ready' && n.Drivers?.exec?.Healthy && n.Drivers.raw_exec?.Healthy);
        return node?.ID;
      },
      alive,
    );
    log(`node ${nodeId} ready`);
    const job = await sendJson('PUT', `${url}/v1/jobs/parse`, { JobHCL: pluginJobHcl(opts.csiBin, nodeId, dataDir, stateDir), Canonicalize: false });
    await sendJson('PUT', `${url}/v1/jobs`, { Job: job });
    await until(
      `CSI plugin "${CSI_PLUGIN_ID}" did not become healthy`,
      opts.pluginTimeoutMs ?? 60_000,
      async () => {
        const plugins = (await getJson(`${url}/v1/plugins?type=csi`)) as { ID: string; ControllersHealthy: number; NodesHealthy: number }[];
        const p = plugins.find((x) => x.ID === CSI_PLUGIN_ID);
        return p && p.ControllersHealthy >= 1 && p.NodesHealthy >= 1 ? true : undefined;
      },
      alive,
    );
    log(`CSI plugin ${CSI_PLUGIN_ID} healthy`);
    return { url, nodeId, dir, csiStateDir: stateDir, logFile, pid: child.pid, stop };
  } catch (e) {
    const logTail = tail(logFile);
    await stop();
    throw new Error(`${(e as Error).message}\n--- nomad agent log (tail) ---\n${logTail}`, { cause: e });
  }
}
