/** knot's volume records on SQL (`space_volumes`). */
import { chunks } from '../../core/batches';
import type { SpaceVolume, VolumeRecord } from '../model';
import type { VolumeRepository } from '../store';
import type { Queryable } from './db';
import { placeholders, run, selectFirst, selectRows } from './fast-sql';

function fromRow(r: Record<string, unknown>): SpaceVolume {
  return {
    spaceId: r.space_id as string,
    volumeId: r.volume_id as string,
    type: r.type as 'csi' | 'host',
    nomadId: (r.nomad_id as string | null) ?? null,
    createdByOperation: (r.created_by_operation as string | null) ?? null,
    createdAt: Number(r.created_at),
  };
}

function recordFromRow(r: Record<string, unknown>): VolumeRecord {
  return { ...fromRow(r), spaceDeletedAt: r.deleted_at == null ? null : Number(r.deleted_at) };
}

const RECORD_COLUMNS = ['space_volumes.*', 'spaces.deleted_at'];

// the lifecycle path reads and records a space's volumes: hand-written SQL on the fast path (fast-sql.ts)
export function sqlVolumes(db: Queryable): VolumeRepository {
  const volumes: VolumeRepository = {
    async listOfSpace(spaceId) {
      const rows = await selectRows(db, 'select * from `space_volumes` where `space_id` = ? order by `volume_id` asc', [spaceId]);
      return rows.map(fromRow);
    },

    async listOfSpaces(spaceIds) {
      const out = new Map<string, SpaceVolume[]>();
      for (const part of chunks([...new Set(spaceIds)])) {
        const rows = await selectRows(db, `select * from \`space_volumes\` where \`space_id\` in (${placeholders(part.length)}) order by \`space_id\` asc, \`volume_id\` asc`, part);
        for (const r of rows.map(fromRow)) out.set(r.spaceId, [...(out.get(r.spaceId) ?? []), r]);
      }
      return out;
    },

    async get(spaceId, volumeId) {
      const r = await selectFirst(db, 'select * from `space_volumes` where `space_id` = ? and `volume_id` = ? limit 1', [spaceId, volumeId]);
      return r ? fromRow(r) : null;
    },

    async owner(volumeId) {
      const r = await selectFirst(db, 'select `space_id` from `space_volumes` where `volume_id` = ? order by `space_id` asc limit 1', [volumeId]);
      return r ? (r.space_id as string) : null;
    },

    async record(v, now) {
      const existing = await volumes.get(v.spaceId, v.volumeId);
      if (existing) {
        if (v.nomadId && existing.nomadId !== v.nomadId) {
          await run(db, 'update `space_volumes` set `nomad_id` = ? where `space_id` = ? and `volume_id` = ?', [v.nomadId, v.spaceId, v.volumeId]);
        }
        return;
      }
      // `?? null`: an absent value is NULL, as knex's insert wrote it
      await run(db, 'insert into `space_volumes` (`created_at`, `created_by_operation`, `nomad_id`, `space_id`, `type`, `volume_id`) values (?, ?, ?, ?, ?, ?)', [
        now,
        v.createdByOperation ?? null,
        v.nomadId ?? null,
        v.spaceId,
        v.type,
        v.volumeId,
      ]);
    },

    async forget(spaceId, volumeId) {
      await run(db, 'delete from `space_volumes` where `space_id` = ? and `volume_id` = ?', [spaceId, volumeId]);
    },

    async records(names) {
      const out = new Map<string, VolumeRecord>();
      for (const ids of chunks([...new Set(names)])) {
        const rows = await db('space_volumes')
          .join('spaces', 'spaces.id', 'space_volumes.space_id')
          .where((w) => w.whereIn('space_volumes.volume_id', ids).orWhereIn('space_volumes.nomad_id', ids))
          .select(RECORD_COLUMNS);
        for (const r of rows.map(recordFromRow)) {
          out.set(r.volumeId, r);
          if (r.nomadId) out.set(r.nomadId, r);
        }
      }
      return out;
    },

    async recordsOfDeletedSpaces(before, limit) {
      const rows = await db('space_volumes')
        .join('spaces', 'spaces.id', 'space_volumes.space_id')
        .whereNotNull('spaces.deleted_at')
        .where('spaces.deleted_at', '<', before)
        .orderBy([{ column: 'spaces.deleted_at' }, { column: 'spaces.id' }, { column: 'space_volumes.volume_id' }])
        .limit(limit)
        .select(RECORD_COLUMNS);
      return rows.map(recordFromRow);
    },
  };
  return volumes;
}
