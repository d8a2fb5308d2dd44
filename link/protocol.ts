/**
 * The link between a space's agent and the server, in one place both sides import.
 *
 * The agent dials out: a WebSocket to `LINK_PATH` on the server, authenticated with the space's
 * agent token (`Authorization: Bearer`), subprotocol `LINK_SUBPROTOCOL`. Over that one WebSocket
 * runs HTTP/2 with the roles reversed: the server is the HTTP/2 *client* and the agent the HTTP/2
 * *server*, so the server opens streams into the space (state, terminals; SSH and ports later)
 * and each stream has its own flow control and end-of-stream.
 *
 * Liveness: both ends send a WebSocket ping every HEARTBEAT_MS; an end that has heard nothing (no
 * pong, no data) for DEAD_AFTER_MS ends the link. So a dead link is noticed within a minute.
 */
import { z } from 'zod';

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
} as const;

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

export const portList = z.array(z.number().int().min(1).max(65535)).max(256);

export const agentStateReportSchema = z
  .object({
    version: z.string().max(64),
    services: z
      .object({
        terminal: z.boolean().optional(),
        ssh: z.boolean().optional(),
        codeServer: z.boolean().optional(),
        ports: portList.optional(),
      })
      .strict(),
    /** open sessions of every kind */
    sessions: z.number().int().min(0).max(100_000),
    /** ms since the epoch of the last user activity (terminal input), null when none yet */
    lastActivity: z.number().int().nonnegative().nullable(),
  })
  .strict();
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
