/**
 * Agent reports in the SQL table `agent_state` (when Redis is not configured): the row stays,
 * `connected` is whether it has expired.
 */
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { chunks } from '../../core/batches';
import type { AgentReport, AgentServices, AgentState } from '../model';
import type { AgentStateStore } from '../store';
import { toJson, type Queryable } from './db';

/** Stored shape; `lastActivity` keeps the newest value even if a report leaves it out. */
interface StoredState {
  services: AgentServices;
  lastSeen: number;
  lastActivity: number | null;
}

export class SqlAgentStateStore implements AgentStateStore {
  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  async report(spaceId: string, state: AgentReport, now: number): Promise<void> {
    const previous = await this.db('agent_state').where({ space_id: spaceId }).first('state_json');
    const before = previous ? toJson<StoredState | null>(previous.state_json, null) : null;
    const stored: StoredState = { services: state.services, lastSeen: now, lastActivity: state.lastActivity ?? before?.lastActivity ?? null };
    const row = { state_json: JSON.stringify(stored), last_seen: now, expires_at: now + this.ttlMs };
    // insert-or-update without dialect-specific upserts; a concurrent first report loses the race
    // to the primary key and then updates
    const updated = await this.db('agent_state').where({ space_id: spaceId }).update(row);
    if (updated > 0) return;
    try {
      await this.db('agent_state').insert({ space_id: spaceId, ...row });
    } catch {
      await this.db('agent_state').where({ space_id: spaceId }).update(row);
    }
  }

  private fromRow(r: Record<string, unknown>): AgentState {
    const s = toJson<StoredState>(r.state_json, { services: {}, lastSeen: Number(r.last_seen), lastActivity: null });
    return { connected: Number(r.expires_at) > this.clock(), lastSeen: Number(r.last_seen), lastActivity: s.lastActivity ?? null, services: s.services ?? {} };
  }

  async get(spaceId: string): Promise<AgentState | null> {
    const r = await this.db('agent_state').where({ space_id: spaceId }).first();
    return r ? this.fromRow(r) : null;
  }

  async getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>> {
    const out = new Map<string, AgentState>();
    for (const ids of chunks([...new Set(spaceIds)])) {
      const rows = await this.db('agent_state').whereIn('space_id', ids);
      for (const r of rows) out.set(r.space_id as string, this.fromRow(r));
    }
    return out;
  }

  async forget(spaceIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(spaceIds)])) await this.db('agent_state').whereIn('space_id', ids).delete();
  }

  async close(): Promise<void> {}
}
