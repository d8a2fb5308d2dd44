/**
 * Volume records: per space the hash `space:<id>:volumes` (volumeId → JSON), and the lookups
 * `volume:<volumeId>` and `volume-nomad:<nomadId>`, each a set of the space ids holding such a
 * record (knot's volume ids are global in a Nomad namespace, so normally one).
 */
import type { Space, SpaceVolume, VolumeRecord } from '../model';
import type { VolumeRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import { type Keys, LEX_MIN, idOfMember, lexBelowNumber, lexExclusive, orderedMember } from './keys';
import { parseJson, readDocs, type Kv, type KvReader, type KvTx } from './kv';

/** Names looked up per round of `records` (the orphan-volume sweep passes every Nomad volume). */
const LOOKUP_SLICE = 500;
/** Deleted spaces read per round trip by `recordsOfDeletedSpaces`. */
const SPACE_PAGE = 100;

function entriesOf(keys: Keys, v: SpaceVolume): IndexEntry[] {
  const entries: IndexEntry[] = [{ kind: 'set', key: keys.volume(v.volumeId), member: v.spaceId }];
  if (v.nomadId) entries.push({ kind: 'set', key: keys.nomadVolume(v.nomadId), member: v.spaceId });
  return entries;
}

const byVolumeId = (a: SpaceVolume, b: SpaceVolume) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0);

async function volumesOf(r: KvReader, keys: Keys, spaceId: string): Promise<SpaceVolume[]> {
  const key = keys.volumesOfSpace(spaceId);
  return [...(await r.hgetall(key)).values()].map((text) => parseJson<SpaceVolume>(text, key) as SpaceVolume).sort(byVolumeId);
}

/** A purged space's records and lookups go with it. */
export async function dropVolumesOfSpace(tx: KvTx, keys: Keys, spaceId: string): Promise<void> {
  for (const v of await volumesOf(tx, keys, spaceId)) reindex(tx, entriesOf(keys, v), []);
  tx.del(keys.volumesOfSpace(spaceId));
}

export function redisVolumes(kv: Kv, keys: Keys): VolumeRepository {
  async function get(spaceId: string, volumeId: string): Promise<SpaceVolume | null> {
    const key = keys.volumesOfSpace(spaceId);
    return parseJson<SpaceVolume>(await kv.read.hget(key, volumeId), key);
  }

  const recordOf = (v: SpaceVolume, space: Space): VolumeRecord => ({ ...v, spaceDeletedAt: space.deletedAt });

  /** the spaces by id (an inner join: records of a space that is gone are left out) */
  async function spacesById(ids: Iterable<string>): Promise<Map<string, Space>> {
    const docs = await readDocs<Space>(kv.read, [...new Set(ids)].map(keys.space));
    return new Map(docs.filter((s): s is Space => s !== null).map((s) => [s.id, s]));
  }

  return {
    listOfSpace: (spaceId) => volumesOf(kv.read, keys, spaceId),

    listOfSpaces: async (spaceIds) => {
      const out = new Map<string, SpaceVolume[]>();
      // in space id order, as SQL's ORDER BY space_id, volume_id
      const ids = [...new Set(spaceIds)].sort();
      const lists = await Promise.all(ids.map((id) => volumesOf(kv.read, keys, id)));
      ids.forEach((id, i) => {
        const list = lists[i] ?? [];
        if (list.length > 0) out.set(id, list);
      });
      return out;
    },

    get,

    owner: async (volumeId) => {
      const holders = (await kv.read.smembers(keys.volume(volumeId))).sort();
      return holders[0] ?? null;
    },

    record: (v: Omit<SpaceVolume, 'createdAt'>, now: number) =>
      kv.write(async (tx) => {
        const key = keys.volumesOfSpace(v.spaceId);
        const existing = parseJson<SpaceVolume>(await tx.hget(key, v.volumeId), key);
        // idempotent; a later call may only fill in (or correct) the Nomad id
        const after: SpaceVolume | null = existing
          ? v.nomadId && existing.nomadId !== v.nomadId
            ? { ...existing, nomadId: v.nomadId }
            : null
          : { spaceId: v.spaceId, volumeId: v.volumeId, type: v.type, nomadId: v.nomadId, createdByOperation: v.createdByOperation, createdAt: now };
        if (!after) return;
        tx.hset(key, v.volumeId, JSON.stringify(after));
        reindex(tx, existing ? entriesOf(keys, existing) : [], entriesOf(keys, after));
      }),

    forget: (spaceId: string, volumeId: string) =>
      kv.write(async (tx) => {
        const key = keys.volumesOfSpace(spaceId);
        const existing = parseJson<SpaceVolume>(await tx.hget(key, volumeId), key);
        if (!existing) return;
        tx.hdel(key, volumeId);
        reindex(tx, entriesOf(keys, existing), []);
      }),

    records: async (names) => {
      const out = new Map<string, VolumeRecord>();
      const unique = [...new Set(names)];
      for (let i = 0; i < unique.length; i += LOOKUP_SLICE) {
        const slice = unique.slice(i, i + LOOKUP_SLICE);
        const [byVolume, byNomad] = await Promise.all([
          Promise.all(slice.map((n) => kv.read.smembers(keys.volume(n)))),
          Promise.all(slice.map((n) => kv.read.smembers(keys.nomadVolume(n)))),
        ]);
        const holders = new Set([...byVolume.flat(), ...byNomad.flat()]);
        if (holders.size === 0) continue;
        const spaces = await spacesById(holders);
        const volumes = new Map<string, SpaceVolume[]>();
        await Promise.all([...spaces.keys()].map(async (id) => volumes.set(id, await volumesOf(kv.read, keys, id))));
        const wanted = new Set(slice);
        for (const [spaceId, list] of volumes) {
          const space = spaces.get(spaceId) as Space;
          for (const v of list) {
            if (!wanted.has(v.volumeId) && !(v.nomadId && wanted.has(v.nomadId))) continue;
            const r = recordOf(v, space);
            out.set(r.volumeId, r);
            if (r.nomadId) out.set(r.nomadId, r);
          }
        }
      }
      return out;
    },

    recordsOfDeletedSpaces: async (before, limit) => {
      const out: VolumeRecord[] = [];
      let min = LEX_MIN;
      while (out.length < limit) {
        const members = await kv.read.zrangeByLex(keys.deletedSpaces, { min, max: lexBelowNumber(before), offset: 0, count: SPACE_PAGE });
        if (members.length === 0) break;
        const spaces = await readDocs<Space>(kv.read, members.map((m) => keys.space(idOfMember(m))));
        const lists = await Promise.all(
          spaces.map((s, i) => (s && s.deletedAt !== null && orderedMember(s.deletedAt, s.id) === members[i] ? volumesOf(kv.read, keys, s.id) : Promise.resolve([]))),
        );
        spaces.forEach((s, i) => {
          if (s) for (const v of lists[i] ?? []) out.push(recordOf(v, s));
        });
        if (members.length < SPACE_PAGE) break;
        min = lexExclusive(members[members.length - 1] as string);
      }
      return out.slice(0, Math.max(0, limit));
    },
  };
}
