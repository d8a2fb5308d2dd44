/**
 * How every agent-state driver (store/sql, store/redis) changes and reads a space's link record,
 * so "connected", `since` and `lastActivity` mean the same on each. Pure.
 *
 * The stored record carries its own expiry: a holder that stopped refreshing it (its process died
 * without saying so) leaves a record that reads as disconnected since that expiry, rather than one
 * that vanishes and forgets when the link went down and when the space was last used.
 */
import type { AgentLinkRecord } from '../core/agent-status';
import type { AgentReport } from './model';

export interface StoredLinkRecord extends AgentLinkRecord {
  /** past this, a connected record reads as disconnected (since = expiresAt) */
  expiresAt: number;
}

/** A record as stored, or null when unreadable; records written before the link existed fill in their defaults. */
export function parseLinkRecord(text: unknown, ttlMs: number): StoredLinkRecord | null {
  if (typeof text !== 'string' || text === '') return null;
  let raw: Partial<StoredLinkRecord>;
  try {
    raw = JSON.parse(text) as Partial<StoredLinkRecord>;
  } catch {
    // an unreadable record is as good as none: the holder's next refresh replaces it
    return null;
  }
  if (!raw || typeof raw !== 'object' || typeof raw.lastSeen !== 'number') return null;
  return {
    // before links, a record present and within its TTL was a connected agent
    connected: raw.connected ?? true,
    lastSeen: raw.lastSeen,
    since: raw.since ?? null,
    lastActivity: raw.lastActivity ?? null,
    services: raw.services ?? {},
    version: raw.version ?? null,
    sessions: raw.sessions ?? 0,
    expiresAt: raw.expiresAt ?? raw.lastSeen + ttlMs,
    ...(typeof raw.holder === 'string' ? { holder: raw.holder } : {}),
  };
}

/** The record as readers see it at `now`: an expired connected record is a disconnected one. */
export function linkAt(stored: StoredLinkRecord, now: number): AgentLinkRecord {
  const { expiresAt, ...record } = stored;
  if (!record.connected || expiresAt > now) return record;
  const { holder: _gone, ...down } = record;
  return { ...down, connected: false, since: expiresAt, services: {}, sessions: 0 };
}

const newest = (a: number | null | undefined, b: number | null | undefined): number | null => {
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return Math.max(a, b);
};

/** What a refresh from the link's holder stores. */
export function reportedRecord(before: StoredLinkRecord | null, report: AgentReport, now: number, ttlMs: number): StoredLinkRecord {
  const wasUp = before ? linkAt(before, now).connected : false;
  return {
    connected: true,
    lastSeen: now,
    since: report.since ?? (wasUp ? before?.since : null) ?? now,
    // a report may leave it out or carry an older value (another session's): it never goes back
    lastActivity: newest(before?.lastActivity, report.lastActivity),
    services: report.services,
    version: report.version ?? null,
    sessions: report.sessions ?? 0,
    expiresAt: now + ttlMs,
    ...(report.holder ? { holder: report.holder } : {}),
  };
}

/**
 * What the end of a link stores: down since now; lastSeen, lastActivity and version kept. Null
 * (leave the record alone) when `holder` says which replica's link ended and the record names
 * another: the agent has already linked there, and a late close here must not mark it down.
 */
export function disconnectedRecord(before: StoredLinkRecord, now: number, holder?: string): StoredLinkRecord | null {
  if (holder && before.holder && before.holder !== holder && linkAt(before, now).connected) return null;
  const { holder: _gone, ...rest } = before;
  return { ...rest, connected: false, since: now, services: {}, sessions: 0, expiresAt: Math.min(before.expiresAt, now) };
}
