/**
 * The link between a space's agent and the server, in one place both sides import.
 *
 * The agent dials out: a WebSocket to `LINK_PATH` on the server, authenticated with the space's
 * agent token (`Authorization: Bearer`), subprotocol `LINK_SUBPROTOCOL`. Over that one WebSocket
 * runs HTTP/2 with the roles reversed: the server is the HTTP/2 *client* and the agent the HTTP/2
 * *server*, so the server opens streams into the space (state, terminals; SSH and ports later)
 * and each stream has its own flow control and end-of-stream.
 *
 * An agent and a server that both know it skip the WebSocket framing: the upgrade offers
 * `knot-link.h2` first and HTTP/2 then runs on the upgraded socket itself (link/raw-link.ts); an
 * agent or a server that does not gets the WebSocket link described here.
 *
 * Liveness: both ends send a WebSocket ping (raw link: an HTTP/2 PING) every HEARTBEAT_MS; an end that has heard nothing (no
 * pong, no data) for DEAD_AFTER_MS ends the link. So a dead link is noticed within a minute.
 */
import type { z } from 'zod';
import type { agentStateReportSchema } from './schemas';

export const LINK_PATH = '/api/v1/agents/link';
export const LINK_SUBPROTOCOL = 'knot-link.v1';
/** the agent's version, sent when it dials */
export const AGENT_VERSION_HEADER = 'x-knot-agent-version';
/** the space the agent believes it serves (KNOT_SPACEID): a token for another space is refused */
export const SPACE_ID_HEADER = 'x-knot-space-id';

export const HEARTBEAT_MS = 20_000;
export const DEAD_AFTER_MS = 50_000;

/** Largest WebSocket message on the link (HTTP/2 frames are at most 16 KiB by default, plus headers). */
export const LINK_MAX_MESSAGE = 1024 * 1024;
/** HTTP/2 session memory on both ends, in MB (the 10 MB default trips ENHANCE_YOUR_CALM under load). */
export const LINK_SESSION_MEMORY_MB = 64;

/**
 * HTTP/2 settings both ends announce. The defaults (64 KiB stream window, 16 KiB frames) make a
 * terminal's bulk output wait for a window update every 64 KiB and cut it into many small
 * WebSocket messages; larger frames stay well under LINK_MAX_MESSAGE.
 */
export const LINK_H2_SETTINGS = { initialWindowSize: 4 * 1024 * 1024, maxFrameSize: 256 * 1024 } as const;
/** The whole session's receive window (all streams together). */
export const LINK_SESSION_WINDOW = 16 * 1024 * 1024;

/** WebSocket close codes the server gives an agent, so it can tell why. */
export const LinkClose = {
  /** the token was revoked (the space stopped) or is not valid for this space */
  Unauthorized: 4401,
  /** another agent holds a live link for this space */
  Duplicate: 4409,
  /** a newer link of this space replaced this one */
  Replaced: 4410,
  /** the link went quiet past DEAD_AFTER_MS */
  Dead: 4408,
  /** the server is shutting down; dial again */
  GoingAway: 1001,
} as const;

/** Routes the agent serves over the link (HTTP/2 paths on the agent's side). */
export const AgentRoute = {
  /** GET: a stream of newline-delimited AgentStateReport JSON, one now and one per change */
  state: '/v1/state',
  /** POST: a terminal session; both directions are stream frames (link/frames.ts) */
  terminal: '/v1/terminal',
  /**
   * POST: one SSH connection; the request and response bodies are its raw byte stream. Served by
   * the agent's embedded SSH server, or piped to the image's own sshd on KNOT_SSH_PORT when one
   * listens; 503 when neither is there (no config pushed yet).
   */
  ssh: '/v1/ssh',
  /** PUT (JSON SshConfig): the embedded SSH server's host key and authorized keys; 204 */
  sshConfig: '/v1/ssh/config',
} as const;

/**
 * Ports inside the space are reached with an HTTP/2 `CONNECT` (no path): `:authority` is
 * `127.0.0.1:<port>` (only loopback; the agent refuses any other host and its own health-check
 * port). A 200 means the agent's TCP connection is up; then the two bodies are the raw bytes, and
 * the end of one body ends that direction only (a half-close). 502 when nothing accepts there.
 */
export const CONNECT_HOST = '127.0.0.1';
/**
 * On a CONNECT: `http` asks for a tunnel the server keeps in its keep-alive pool of HTTP/1
 * connections to that port (api/agent-link/app-tunnels.ts), one plain HTTP request after another.
 * Its bytes count as activity, but it is not a session (an idle pooled connection must not keep a
 * space "in use"). An agent that honours it echoes the header on its 200; an agent from before
 * does not, and the server then uses that tunnel for one request and relays later ones as
 * HTTP_RELAY_PREFIX requests.
 */
export const POOLED_TUNNEL_HEADER = 'x-knot-tunnel';
export const POOLED_TUNNEL_HTTP = 'http';
export function connectAuthority(port: number): string {
  return `${CONNECT_HOST}:${port}`;
}

/**
 * Plain HTTP to a web port inside the space, one HTTP/2 request per app request: `:path` is
 * `/v1/http/<port><the app's path and query>`, `:method` the app request's, `:authority` the Host
 * the client used; the other headers and both bodies are the app's. The agent relays it over a
 * keep-alive connection pool to 127.0.0.1:<port>, so a page's many requests cost no tunnel and no
 * TCP dial each (a CONNECT per request did). Hop-by-hop headers never cross (HTTP/2 has none).
 * Upgrades (WebSockets) still take a CONNECT tunnel: their bytes are not HTTP after the 101.
 *
 * When the agent itself cannot reach the port, it answers with HTTP_RELAY_ERROR_HEADER set (and
 * the reason as text), so the server tells that apart from the app's own 502.
 */
export const HTTP_RELAY_PREFIX = '/v1/http/';
export const HTTP_RELAY_ERROR_HEADER = 'x-knot-relay-error';
export function httpRelayPath(port: number, appPath: string): string {
  return `${HTTP_RELAY_PREFIX}${port}${appPath.startsWith('/') ? appPath : `/${appPath}`}`;
}
/** The port and app path of an HTTP relay `:path`, or null when it is not one. */
export function parseHttpRelayPath(path: string): { port: number; appPath: string } | null {
  if (!path.startsWith(HTTP_RELAY_PREFIX)) return null;
  const m = /^(\d{1,5})(\/.*)?$/s.exec(path.slice(HTTP_RELAY_PREFIX.length));
  if (!m) return null;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return null;
  return { port, appPath: m[2] ?? '/' };
}

/**
 * Hop-by-hop headers (RFC 9110 7.6.1) and HTTP/2's connection-specific ones (RFC 9113 8.2.2): they
 * describe one connection and are never relayed; HTTP/2 refuses a message that carries them.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * What the server pushes to the agent's SSH server, right after the link comes up and whenever the
 * owner's keys change: the space's host key (derived by the server, core/ssh-host-key.ts; it only
 * ever travels over this authenticated link) and the owner's public keys.
 */
export interface SshConfig {
  /** authorized_keys lines: "<type> <base64> [comment]" */
  authorizedKeys: string[];
  /** an OpenSSH (or PEM) private key ssh2's utils.parseKey accepts */
  hostKey: string;
}

const MAX_SSH_LINE = 16 * 1024;

/**
 * The pushed SSH config, checked by hand (the agent does not load zod: an idle agent stays small);
 * a string says what is wrong.
 */
export function parseSshConfig(value: unknown): SshConfig | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the SSH config must be an object';
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => k !== 'authorizedKeys' && k !== 'hostKey');
  if (extra.length) return `unknown field ${extra[0]}`;
  if (typeof v.hostKey !== 'string' || v.hostKey.length === 0 || v.hostKey.length > MAX_SSH_LINE) return 'hostKey: a private key of at most 16 KiB';
  const keys = v.authorizedKeys;
  if (!Array.isArray(keys) || keys.length > 1000) return 'authorizedKeys: a list of at most 1000 keys';
  if (!keys.every((k): k is string => typeof k === 'string' && k.length > 0 && k.length <= MAX_SSH_LINE)) return 'authorizedKeys: each a non-empty line of at most 16 KiB';
  return { authorizedKeys: keys, hostKey: v.hostKey };
}
/** The SSH config body is at most this long (1000 keys of a few hundred bytes, plus the host key). */
export const MAX_SSH_CONFIG_BYTES = 1024 * 1024;

/** Headers of an AgentRoute.terminal request. */
export const TerminalHeader = {
  session: 'x-knot-session',
  shell: 'x-knot-shell',
  cols: 'x-knot-cols',
  rows: 'x-knot-rows',
} as const;

/** The shells Create Space offers; anything else falls back to sh. */
export const SHELLS = ['bash', 'sh', 'zsh', 'fish'] as const;
export type ShellName = (typeof SHELLS)[number];

/** A terminal session id, chosen by the client so a reconnect can name it. */
export const TERMINAL_SESSION_ID = /^[A-Za-z0-9_-]{8,64}$/;

export type AgentStateReport = z.infer<typeof agentStateReportSchema>;

/** One state report line at most this long: a bigger one ends the state stream. */
export const MAX_STATE_LINE = 16 * 1024;

/** Where the agent's data-free health check answers (the seed job's `/ping` check). */
export const PING_PATH = '/ping';
export const DEFAULT_PING_PORT = 3000;

/** The terminal WebSocket of a space on the server (browser and CLI). */
export function terminalPath(spaceId: string): string {
  return `/api/v1/spaces/${encodeURIComponent(spaceId)}/terminal`;
}

/** The SSH WebSocket of a space on the server (`knot forward ssh`): binary messages of raw SSH bytes. */
export function sshStreamPath(spaceId: string): string {
  return `/api/v1/spaces/${encodeURIComponent(spaceId)}/ssh/stream`;
}

/**
 * A TCP port of a space as a WebSocket (`knot forward port`): binary messages carry the raw bytes
 * both ways. A zero-length binary message means "my direction has ended" (a TCP half-close, FIN);
 * once both directions have ended, either end closes with 1000. Text messages are refused (1003).
 */
export function portStreamPath(spaceId: string, port: number): string {
  return `/api/v1/spaces/${encodeURIComponent(spaceId)}/ports/${port}/stream`;
}

/** A space's web port by path on the server's own origin (no wildcard DNS needed). */
export function portAppPath(owner: string, space: string, port: number): string {
  return `/spaces/${encodeURIComponent(owner)}/${encodeURIComponent(space)}/ports/${port}/`;
}
