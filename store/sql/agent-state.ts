/**
 * Agent link records in the SQL table `agent_state` (when Redis is not configured): the row stays,
 * and one whose holder stopped refreshing it before `expires_at` reads as disconnected.
 */
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { chunks } from '../../core/batches';
import { disconnectedRecord, linkAt, parseLinkRecord, reportedRecord, type StoredLinkRecord } from '../agent-link-record';
import type { AgentReport, AgentState } from '../model';
import type { AgentStateStore } from '../store';
import type { Queryable } from './db';
import { placeholders, selectRows } from './fast-sql';

/** How many parsed records SqlAgentStateStore keeps (all are dropped past it). */
const PARSED_MAX = 20_000;

export class SqlAgentStateStore implements AgentStateStore {
  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  private async stored(spaceId: string): Promise<StoredLinkRecord | null> {
    const row = (await this.db('agent_state').where({ space_id: spaceId }).first('state_json', 'expires_at')) as { state_json: unknown; expires_at: unknown } | undefined;
    const stored = row ? parseLinkRecord(row.state_json, this.ttlMs) : null;
    return stored && row ? { ...stored, expiresAt: Number(row.expires_at) } : null;
  }

  private async write(spaceId: string, record: StoredLinkRecord): Promise<void> {
    const row = { state_json: JSON.stringify(record), last_seen: record.lastSeen, expires_at: record.expiresAt };
    // insert-or-update without dialect-specific upserts; a concurrent first write loses the race
    // to the primary key and then updates
    const updated = await this.db('agent_state').where({ space_id: spaceId }).update(row);
    if (updated > 0) return;
    try {
      await this.db('agent_state').insert({ space_id: spaceId, ...row });
    } catch {
      await this.db('agent_state').where({ space_id: spaceId }).update(row);
    }
  }

  async report(spaceId: string, state: AgentReport, now: number): Promise<void> {
    await this.write(spaceId, reportedRecord(await this.stored(spaceId), state, now, this.ttlMs));
  }

  async disconnected(spaceId: string, now: number, holder?: string): Promise<void> {
    const before = await this.stored(spaceId);
    const after = before ? disconnectedRecord(before, now, holder) : null;
    if (after) await this.write(spaceId, after);
  }

  /**
   * The last record parsed per space, with the text it was parsed from: a list page reads the same
   * unchanged records again and again, and parsing was most of their cost (bench/RESULTS.md §15).
   * Only the parse is reused: the text is read every time, and an entry serves only its exact text.
   */
  private readonly parsed = new Map<string, { text: string; record: StoredLinkRecord | null }>();

  private parse(spaceId: unknown, text: unknown): StoredLinkRecord | null {
    if (typeof spaceId !== 'string' || typeof text !== 'string') return parseLinkRecord(text, this.ttlMs);
    const hit = this.parsed.get(spaceId);
    if (hit !== undefined && hit.text === text) return hit.record;
    const record = parseLinkRecord(text, this.ttlMs);
    if (this.parsed.size >= PARSED_MAX) this.parsed.clear();
    this.parsed.set(spaceId, { text, record });
    return record;
  }

  private fromRow(r: Record<string, unknown>): AgentState | null {
    const stored = this.parse(r.space_id, r.state_json);
    if (!stored) return null;
    // the column is the truth for expiry (rows written before the record carried its own)
    const expiresAt = Number(r.expires_at);
    return linkAt(stored.expiresAt === expiresAt ? stored : { ...stored, expiresAt }, this.clock());
  }

  async get(spaceId: string): Promise<AgentState | null> {
    const r = await this.db('agent_state').where({ space_id: spaceId }).first();
    return r ? this.fromRow(r) : null;
  }

  async getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>> {
    const out = new Map<string, AgentState>();
    for (const ids of chunks([...new Set(spaceIds)])) {
      // every space view reads these: the fast path (fast-sql.ts)
      const rows = await selectRows(this.db, `select \`space_id\`, \`state_json\`, \`expires_at\` from \`agent_state\` where \`space_id\` in (${placeholders(ids.length)})`, ids);
      for (const r of rows) {
        const state = this.fromRow(r);
        if (state) out.set(r.space_id as string, state);
      }
    }
    return out;
  }

  async forget(spaceIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(spaceIds)])) await this.db('agent_state').whereIn('space_id', ids).delete();
  }

  async close(): Promise<void> {}
}
