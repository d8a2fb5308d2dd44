/**
 * Space autostarts on Redis: `autostart:<spaceId>` (JSON { autostart, nextAt }) and the due index
 * `autostart-due`, a score-0 sorted set of `<nextAt, 15 digits>:<spaceId>` read by lex range up to
 * now. An index member whose document is gone (a purged space) or says another time is stale and
 * dropped when read. New keys only: no schema step needed.
 */
import type { Autostart } from '../../core/autostart';
import type { AutostartRepository, SpaceAutostart } from '../store';
import type { Keys } from './keys';
import { readDocs, writeDoc, type Kv, type KvTx } from './kv';

interface Doc {
  autostart: Autostart;
  nextAt: number | null;
}

const pad = (n: number) => String(n).padStart(15, '0');

export function redisAutostarts(kv: Kv, keys: Keys): AutostartRepository {
  const docKey = (spaceId: string) => `${keys.prefix}autostart:${spaceId}`;
  const dueKey = `${keys.prefix}autostart-due`;
  const member = (nextAt: number, spaceId: string) => `${pad(nextAt)}:${spaceId}`;
  const view = (spaceId: string, d: Doc): SpaceAutostart => ({ spaceId, autostart: d.autostart, nextAt: d.nextAt });

  const write = (tx: KvTx, spaceId: string, before: Doc | null, after: Doc | null, now: number) => {
    if (before?.nextAt != null) tx.zrem(dueKey, member(before.nextAt, spaceId));
    if (!after) {
      tx.del(docKey(spaceId));
      return;
    }
    writeDoc(tx, docKey(spaceId), { ...after, updatedAt: now });
    if (after.nextAt !== null) tx.zadd(dueKey, member(after.nextAt, spaceId));
  };

  return {
    async get(spaceId) {
      const [d] = await readDocs<Doc>(kv.read, [docKey(spaceId)]);
      return d ? view(spaceId, d) : null;
    },

    async getMany(spaceIds) {
      const unique = [...new Set(spaceIds)];
      const docs = await readDocs<Doc>(kv.read, unique.map(docKey));
      const out = new Map<string, SpaceAutostart>();
      unique.forEach((id, i) => {
        const d = docs[i];
        if (d) out.set(id, view(id, d));
      });
      return out;
    },

    set: (spaceId, autostart, nextAt, now) =>
      kv.write(async (tx) => {
        const [before] = await readDocs<Doc>(tx, [docKey(spaceId)]);
        write(tx, spaceId, before ?? null, autostart ? { autostart, nextAt } : null, now);
      }),

    async listDue(now, limit) {
      const members = await kv.read.zrangeByLex(dueKey, { min: '-', max: `[${pad(now)}:\xff`, count: limit });
      const parsed = members.map((m) => ({ m, at: Number(m.slice(0, 15)), id: m.slice(16) }));
      const docs = await readDocs<Doc>(kv.read, parsed.map((p) => docKey(p.id)));
      const out: SpaceAutostart[] = [];
      const stale: string[] = [];
      parsed.forEach((p, i) => {
        const d = docs[i];
        if (d && d.nextAt === p.at) out.push(view(p.id, d));
        else stale.push(p.m);
      });
      if (stale.length) await kv.write(async (tx) => stale.forEach((m) => tx.zrem(dueKey, m)));
      return out;
    },

    advance: (spaceId, expected, next, now) =>
      kv.write(async (tx) => {
        const [before] = await readDocs<Doc>(tx, [docKey(spaceId)]);
        if (!before || before.nextAt !== expected) return false;
        write(tx, spaceId, before, { autostart: before.autostart, nextAt: next }, now);
        return true;
      }),
  };
}
