/**
 * `knot agent`, assembled: the health check, the service scan, terminal sessions and the link.
 * startAgent is what the CLI runs and what tests and the bench start in-process.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { LINK_PATH } from '../link/protocol';
import type { AgentServices } from '../core/agent-status';
import { AgentState } from './agent-state';
import { linkUrl, type AgentConfig } from './config';
import { startLink, type Link, type LinkEvent } from './link';
import { createAgentLogger } from './logger';
import { startPingServer, type PingServer } from './ping-server';
import { HealthProbe, HttpPortProber } from './http-probe';
import { appConnectionPool } from './http-relay';
import { routeStream } from './routes';
import { watchServices } from './services';
import { loginShell, shellSearchPath } from './shells';
import { SshServer } from './ssh-server';
import { findSftpServer } from './ssh-sessions';
import { TerminalSessions, type PtyModule } from './terminal-sessions';

export interface RunningAgent {
  /** the health check's port, null when it is off */
  pingPort: number | null;
  stop(): Promise<void>;
  /** link up/down events; returns the unsubscribe */
  onLinkState(cb: (e: LinkEvent) => void): () => void;
}

/** Knobs for tests and the bench; the CLI uses the defaults. */
export interface AgentTuning {
  heartbeatMs?: number;
  deadAfterMs?: number;
  backoff?: (attempt: number) => number;
  /** false: dial WebSocket links only, as agents before the raw link did (tests against a WebSocket-only server) */
  rawLink?: boolean;
  activityReportMs?: number;
  serviceScanMs?: number;
  /** the environment the agent passes on to shells (default process.env) */
  env?: NodeJS.ProcessEnv;
}

/**
 * Set by the standalone agent bundle's build (esbuild `define`), which has no package.json beside
 * it; undeclared (so `typeof` says undefined) when running from the source tree or dist/.
 */
declare const KNOT_AGENT_VERSION: string | undefined;

/** The package version: the bundle's, else package.json's from the source tree or from dist/. */
export function agentVersion(): string {
  if (typeof KNOT_AGENT_VERSION === 'string' && KNOT_AGENT_VERSION) return KNOT_AGENT_VERSION;
  for (const candidate of [path.join(__dirname, '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'knot' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return '0.0.0';
}

/** The shell's environment: the agent's, minus its token (the user's shell must never see it). */
export function shellEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'KNOT_AGENT_TOKEN') out[k] = v;
  out.TERM = 'xterm-256color';
  return out;
}

async function loadPty(logger: Logger): Promise<PtyModule | null> {
  try {
    return await import('@lydell/node-pty');
  } catch (e) {
    logger.warn({ err: e }, 'the PTY module did not load: no terminal in this space');
    return null;
  }
}

export async function startAgent(config: AgentConfig, logger: Logger = createAgentLogger(config.logLevel), tuning: AgentTuning = {}): Promise<RunningAgent> {
  const env = tuning.env ?? process.env;
  const version = agentVersion();
  logger.info({ version, spaceId: config.spaceId, server: config.server }, 'agent starting');
  if (config.user && typeof process.getuid === 'function' && process.getuid() === 0) {
    logger.warn({ user: config.user }, `the agent runs as root; it should run as ${config.user} (the image's entrypoint switches user)`);
  }

  let ping: PingServer | null = null;
  if (config.pingPort !== null) {
    ping = await startPingServer(config.pingPort);
    logger.info({ port: ping.port }, config.pingPort === 0 ? 'health check on an ephemeral port' : 'health check listening');
  }

  const state = new AgentState(version, tuning.activityReportMs === undefined ? {} : { activityReportMs: tuning.activityReportMs });
  // open sessions of every kind: terminals and SSH connections
  const counts = { terminals: 0, ssh: 0, tunnels: 0 };
  const countSessions = () => state.setSessions(counts.terminals + counts.ssh + counts.tunnels);
  const pty = await loadPty(logger);
  const home = env.HOME || os.homedir();
  const searchPath = shellSearchPath(env.PATH);
  const terminals = new TerminalSessions({
    pty,
    keepMs: config.terminalKeepMs,
    env: shellEnv(env),
    // the shell starts in the home its environment names (the agent's own user's, normally)
    cwd: home,
    searchPath,
    logger,
    onCountChange: (n) => {
      counts.terminals = n;
      countSessions();
    },
    onActivity: () => state.touch(),
  });
  const terminal = terminals.available;
  // SSH is there when the image's sshd listens on KNOT_SSH_PORT or the embedded server has its config
  let scanned: AgentServices = { terminal, ssh: false, codeServer: false, ports: [] };
  const ssh = new SshServer({
    pty,
    shell: loginShell(searchPath),
    env: shellEnv(env),
    cwd: home,
    sftpServer: findSftpServer(),
    user: config.user,
    logger: logger.child({ part: 'ssh' }),
    onActivity: () => state.touch(),
    onCountChange: (n) => {
      counts.ssh = n;
      countSessions();
    },
    onConfigured: () => showServices(),
  });
  const showServices = () => state.setServices({ ...scanned, ssh: Boolean(scanned.ssh) || ssh.configured });
  showServices();
  const stopScan = watchServices(
    {
      terminal,
      sshPort: config.sshPort,
      codeServerPort: config.codeServerPort,
      ownPorts: [...(ping ? [ping.port] : []), ...config.hiddenPorts],
      declaredHttpPorts: config.httpPorts.map((p) => p.port),
      portNames: Object.fromEntries([...config.tcpPorts, ...config.httpPorts].filter((p) => p.name).map((p) => [String(p.port), p.name!])),
      prober: new HttpPortProber(),
      codeServerProbe: new HealthProbe(),
    },
    (s) => {
      scanned = s;
      showServices();
    },
    (e) => logger.warn({ err: e }, 'service scan failed'),
    tuning.serviceScanMs,
  );

  // a TCP connection through the link is a session, and bytes from the user are activity
  const tunnels = {
    ownPorts: () => (ping ? [ping.port] : []),
    onActivity: () => state.touch(),
    onCount: (delta: number) => {
      counts.tunnels += delta;
      countSessions();
    },
    logger,
  };
  const appPool = appConnectionPool();
  const link: Link = startLink({
    url: linkUrl(config.server, LINK_PATH),
    token: config.token,
    version,
    spaceId: config.spaceId,
    logger,
    onStream: (stream, headers) => routeStream(stream, headers, { state, terminals, ssh, sshPort: config.sshPort, tunnels, appPool, logger }),
    ...(tuning.heartbeatMs !== undefined ? { heartbeatMs: tuning.heartbeatMs } : {}),
    ...(tuning.deadAfterMs !== undefined ? { deadAfterMs: tuning.deadAfterMs } : {}),
    ...(tuning.backoff ? { backoff: tuning.backoff } : {}),
    // KNOT_AGENT_LINK=websocket: never offer the raw link (a proxy in front of knot that reads WebSocket frames)
    raw: tuning.rawLink ?? env.KNOT_AGENT_LINK !== 'websocket',
  });

  let stopping: Promise<void> | null = null;
  return {
    pingPort: ping?.port ?? null,
    onLinkState: (cb) => link.onEvent(cb),
    stop() {
      stopping ??= (async () => {
        stopScan();
        await link.stop();
        appPool.destroy();
        await terminals.killAll();
        state.close();
        await ping?.close();
        logger.info('agent stopped');
      })();
      return stopping;
    },
  };
}
