/**
 * Secondary indexes derived from a record: each record kind says which index entries a document
 * has (`entriesOf(doc)`), and a write replaces the old document's entries with the new one's. An
 * index can then never disagree with the documents it was derived from, whatever field changed.
 */
import type { KvReader, KvWriter } from './kv';
import { lexExclusive } from './keys';

export type IndexEntry =
  /** a member of a score-0 sorted set (ordered index) */
  | { kind: 'zset'; key: string; member: string }
  /** a member of a set */
  | { kind: 'set'; key: string; member: string }
  /** a unique value's key holding the record's id */
  | { kind: 'unique'; key: string; id: string };

function identity(e: IndexEntry): string {
  return `${e.kind}\u0000${e.key}\u0000${e.kind === 'unique' ? e.id : e.member}`;
}

/** Writes what changed between the entries of the old document and those of the new one. */
export function reindex(tx: KvWriter, before: readonly IndexEntry[], after: readonly IndexEntry[]): void {
  const kept = new Set(after.map(identity));
  const had = new Set(before.map(identity));
  for (const e of before) {
    if (kept.has(identity(e))) continue;
    if (e.kind === 'zset') tx.zrem(e.key, e.member);
    else if (e.kind === 'set') tx.srem(e.key, e.member);
    // a unique key is freed only if no new entry takes the same key
    else if (!after.some((a) => a.kind === 'unique' && a.key === e.key)) tx.del(e.key);
  }
  for (const e of after) {
    if (had.has(identity(e))) continue;
    if (e.kind === 'zset') tx.zadd(e.key, e.member);
    else if (e.kind === 'set') tx.sadd(e.key, e.member);
    else tx.set(e.key, e.id);
  }
}

/** Whether the document (its current entries) is still at this place of the index. */
export function holds(entries: readonly IndexEntry[], key: string, member: string): boolean {
  return entries.some((e) => e.kind === 'zset' && e.key === key && e.member === member);
}

export interface IndexScan {
  /** ZRANGEBYLEX bounds of the whole walk */
  min: string;
  max: string;
  reverse?: boolean;
  /** stop after this many accepted items */
  limit: number;
  /** members read per round trip */
  pageSize: number;
}

/**
 * Walks an ordered index page by page; `load` turns a page of members into items (null: the
 * document does not match, or moved since the index was read). Stops after `limit` items or at the
 * end of the index.
 */
export async function scanIndex<T>(r: KvReader, key: string, scan: IndexScan, load: (members: string[]) => Promise<(T | null)[]>): Promise<T[]> {
  const out: T[] = [];
  if (scan.limit <= 0) return out;
  let { min, max } = scan;
  for (;;) {
    const members = await r.zrangeByLex(key, { min, max, reverse: scan.reverse, offset: 0, count: scan.pageSize });
    if (members.length === 0) return out;
    for (const item of await load(members)) {
      if (item === null) continue;
      out.push(item);
      if (out.length >= scan.limit) return out;
    }
    if (members.length < scan.pageSize) return out;
    const last = members[members.length - 1] as string;
    if (scan.reverse) max = lexExclusive(last);
    else min = lexExclusive(last);
  }
}
