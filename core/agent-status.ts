/**
 * The agent part of a space's status, decided from the space's phase and what the link last
 * recorded: pure, so every face (API view, events, sweeps) tells the same story.
 *
 *   connecting    the space is starting or running and its agent has not linked since it started
 *   connected     the link is up (its holder refreshed the record within the TTL)
 *   disconnected  the link was up and went down, or the space is not running
 *   timeout       still connecting AGENT_CONNECT_TIMEOUT_MS after the space started: the agent
 *                 probably cannot reach the server (Coder's lesson, #4678: say so, do not spin)
 */
import { isoOf } from './iso-time';

export const AGENT_LINK_STATES = ['connecting', 'connected', 'disconnected', 'timeout'] as const;
export type AgentLinkState = (typeof AGENT_LINK_STATES)[number];

/** How long a running space's agent may take to link before the status says `timeout`. */
export const AGENT_CONNECT_TIMEOUT_MS = 2 * 60_000;

/** What an agent can offer; icons appear from these. */
export interface AgentServices {
  terminal?: boolean;
  ssh?: boolean;
  /** code-server's /healthz answers 200 */
  codeServer?: boolean;
  /** where code-server listens (KNOT_CODE_SERVER_PORT), when codeServer: the UI opens it through the port proxy */
  codeServerPort?: number;
  /** TCP ports listening inside the space (not the agent's own) */
  ports?: number[];
  /** of those (and the declared KNOT_HTTP_PORT ones), the ports that answer HTTP */
  httpPorts?: number[];
  /** names from KNOT_HTTP_PORT / KNOT_TCP_PORT ("8080=web"), by port */
  portNames?: Record<string, string>;
}

/** What the store keeps of a space's link (written by the API process holding the link). */
export interface AgentLinkRecord {
  /** the link is up and its holder refreshed this record within the TTL */
  connected: boolean;
  /** last time the holder refreshed the record */
  lastSeen: number;
  /** when the link came up (connected) or went down (not connected); null when unknown */
  since: number | null;
  lastActivity: number | null;
  services: AgentServices;
  version: string | null;
  /** open terminal (and later SSH, port) sessions */
  sessions: number;
  /**
   * The URL of the API replica holding the link (`server.advertise_url`), where another replica
   * relays terminals, SSH and ports to (api/agent-link/replica-*.ts); absent when not connected.
   */
  holder?: string;
}

export interface AgentStatus {
  state: AgentLinkState;
  /** ISO time the state began (null when unknown) */
  since: string | null;
  version: string | null;
  /** only a connected agent offers services */
  services: AgentServices;
  sessions: number;
  lastSeen: string | null;
  lastActivity: string | null;
  /** kept for clients of the earlier view: state === 'connected' */
  connected: boolean;
}

export interface SpaceForAgentStatus {
  phase: string;
  /** when the space last started (running) or null */
  startedAt: number | null;
  /** when its record last changed (the phase change to starting, for a starting space) */
  updatedAt: number;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : isoOf(ms));

/**
 * One object literal per outcome (a list page makes one per space): the connected shape, and the
 * shape of every other state, with the key order the view has always had.
 */
export function agentStatus(space: SpaceForAgentStatus, link: AgentLinkRecord | null, now: number, connectTimeoutMs = AGENT_CONNECT_TIMEOUT_MS): AgentStatus {
  const live = space.phase === 'starting' || space.phase === 'running';
  if (link !== null && link.connected && live) {
    return {
      version: link.version ?? null,
      lastSeen: iso(link.lastSeen),
      lastActivity: iso(link.lastActivity),
      state: 'connected',
      since: iso(link.since ?? link.lastSeen),
      services: link.services,
      sessions: link.sessions,
      connected: true,
    };
  }
  let state: AgentLinkState;
  let since: number | null;
  if (!live) {
    state = 'disconnected';
    since = link?.since ?? null;
  } else {
    const startedAt = space.startedAt ?? space.updatedAt;
    // a link record from before this start says nothing about this start's agent
    if (link !== null && (link.since ?? link.lastSeen) >= startedAt) {
      state = 'disconnected';
      since = link.since ?? link.lastSeen;
    } else if (now - startedAt > connectTimeoutMs) {
      state = 'timeout';
      since = startedAt + connectTimeoutMs;
    } else {
      state = 'connecting';
      since = startedAt;
    }
  }
  return {
    version: link?.version ?? null,
    lastSeen: iso(link?.lastSeen),
    lastActivity: iso(link?.lastActivity),
    services: {},
    sessions: 0,
    connected: false,
    state,
    since: iso(since),
  };
}
