/**
 * The agent's configuration from its environment (set by the space's Nomad job) and flags (for
 * running it by hand): parsed and checked in one pure function so every mistake is reported by the
 * variable's name before anything starts.
 */
import { DEFAULT_PING_PORT } from '../link/protocol';

/** The exit code for a configuration mistake (distinct from a crash's 1). */
export const CONFIG_EXIT_CODE = 2;
export const DEFAULT_TERMINAL_KEEP_MS = 5 * 60_000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type AgentLogLevel = (typeof LOG_LEVELS)[number];

/** A port the space offers, optionally named ("80=web"). */
export interface PortSpec {
  port: number;
  name?: string;
}

export interface AgentConfig {
  /** the server's base URL, e.g. https://knot.example.com */
  server: string;
  spaceId: string | null;
  token: string;
  /** the user the agent should run as (the image's entrypoint switches to it) */
  user: string | null;
  sshPort: number | null;
  codeServerPort: number | null;
  httpPorts: PortSpec[];
  tcpPorts: PortSpec[];
  logLevel: AgentLogLevel;
  /** the health check's port; 0 = ephemeral, null = no health check */
  pingPort: number | null;
  terminalKeepMs: number;
  /** KNOT_AGENT_HIDE_PORTS: listening ports never offered (knot dev's own servers, seen by its stand-ins) */
  hiddenPorts: number[];
}

/** Flags of `knot agent`, as commander hands them over (strings, absent when not given). */
export interface AgentFlags {
  server?: string;
  spaceId?: string;
  token?: string;
  user?: string;
  sshPort?: string;
  httpPort?: string;
  tcpPort?: string;
  codeServerPort?: string;
  logLevel?: string;
  pingPort?: string;
  terminalKeep?: string;
}

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
  readonly exitCode = CONFIG_EXIT_CODE;
}

type Env = Record<string, string | undefined>;

/** a flag wins over its variable; blank counts as unset */
function pick(flag: string | undefined, env: Env, variable: string): string | undefined {
  const v = flag ?? env[variable];
  const t = v?.trim();
  return t ? t : undefined;
}

function source(flagName: string, variable: string): string {
  return `${variable} (--${flagName})`;
}

function port(value: string, what: string, allowZero = false): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) throw new AgentConfigError(`${what} must be a port number (${allowZero ? 0 : 1}-65535), not "${value}"`);
  return n;
}

function optionalPort(value: string | undefined, what: string): number | null {
  return value === undefined ? null : port(value, what);
}

/** "80,8080" or "80=web,8443=admin" (spaces around items allowed). */
export function parsePortList(value: string | undefined, what: string): PortSpec[] {
  if (value === undefined) return [];
  const out: PortSpec[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [p, ...rest] = item.split('=');
    const name = rest.join('=').trim();
    if (rest.length && !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new AgentConfigError(`${what}: "${item}" has a bad name; use port=name with letters, digits, _ . -`);
    out.push(rest.length ? { port: port(p!.trim(), what), name } : { port: port(p!.trim(), what) });
  }
  return out;
}

function serverUrl(value: string | undefined, what: string): string {
  if (value === undefined) throw new AgentConfigError(`${what} is required: the knot server's URL the agent dials, e.g. https://knot.example.com`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new AgentConfigError(`${what} is not a URL: "${value}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AgentConfigError(`${what} must be an http:// or https:// URL, not "${value}"`);
  return u.toString().replace(/\/+$/, '');
}

/** The WebSocket URL of the link: the server's URL with http→ws, https→wss, plus `path`. */
export function linkUrl(server: string, path: string): string {
  const u = new URL(server);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

export function parseAgentConfig(env: Env, flags: AgentFlags = {}): AgentConfig {
  const token = pick(flags.token, env, 'KNOT_AGENT_TOKEN');
  const server = serverUrl(pick(flags.server, env, 'KNOT_SERVER'), source('server', 'KNOT_SERVER'));
  if (token === undefined) throw new AgentConfigError(`${source('token', 'KNOT_AGENT_TOKEN')} is required: the space's agent token`);

  const level = (pick(flags.logLevel, env, 'KNOT_LOGLEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new AgentConfigError(`${source('log-level', 'KNOT_LOGLEVEL')} must be one of ${LOG_LEVELS.join(', ')}, not "${level}"`);

  // the Nomad job names the check's port knot_port; outside Nomad the fixed default
  const pingRaw = pick(flags.pingPort, env, 'KNOT_AGENT_PORT') ?? pick(undefined, env, 'NOMAD_PORT_knot_port') ?? String(DEFAULT_PING_PORT);
  const pingPort = pingRaw.toLowerCase() === 'off' ? null : port(pingRaw, `${source('ping-port', 'KNOT_AGENT_PORT')} (a port, 0 for any, or off)`, true);

  const keepRaw = pick(flags.terminalKeep, env, 'KNOT_TERMINAL_KEEP_SECONDS');
  let terminalKeepMs = DEFAULT_TERMINAL_KEEP_MS;
  if (keepRaw !== undefined) {
    const s = Number(keepRaw);
    if (!/^\d+(\.\d+)?$/.test(keepRaw) || !Number.isFinite(s) || s > 7 * 24 * 3600) throw new AgentConfigError(`${source('terminal-keep', 'KNOT_TERMINAL_KEEP_SECONDS')} must be seconds (0 to 604800), not "${keepRaw}"`);
    terminalKeepMs = Math.round(s * 1000);
  }

  return {
    server,
    spaceId: pick(flags.spaceId, env, 'KNOT_SPACEID') ?? null,
    token,
    user: pick(flags.user, env, 'KNOT_USER') ?? null,
    sshPort: optionalPort(pick(flags.sshPort, env, 'KNOT_SSH_PORT'), source('ssh-port', 'KNOT_SSH_PORT')),
    codeServerPort: optionalPort(pick(flags.codeServerPort, env, 'KNOT_CODE_SERVER_PORT'), source('code-server-port', 'KNOT_CODE_SERVER_PORT')),
    httpPorts: parsePortList(pick(flags.httpPort, env, 'KNOT_HTTP_PORT'), source('http-port', 'KNOT_HTTP_PORT')),
    tcpPorts: parsePortList(pick(flags.tcpPort, env, 'KNOT_TCP_PORT'), source('tcp-port', 'KNOT_TCP_PORT')),
    logLevel: level as AgentLogLevel,
    pingPort,
    terminalKeepMs,
    hiddenPorts: parsePortList(pick(undefined, env, 'KNOT_AGENT_HIDE_PORTS'), 'KNOT_AGENT_HIDE_PORTS').map((p) => p.port),
  };
}
