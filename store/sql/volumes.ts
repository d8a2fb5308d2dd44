/** knot's volume records on SQL (`space_volumes`). */
import { chunks } from '../../core/batches';
import type { SpaceVolume, VolumeRecord } from '../model';
import type { VolumeRepository } from '../store';
import type { Queryable } from './db';
import { placeholders, selectRows } from './fast-read';

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

export function sqlVolumes(db: Queryable): VolumeRepository {
  const volumes: VolumeRepository = {
    async listOfSpace(spaceId) {
      const rows = await db('space_volumes').where({ space_id: spaceId }).orderBy('volume_id');
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
      const r = await db('space_volumes').where({ space_id: spaceId, volume_id: volumeId }).first();
      return r ? fromRow(r) : null;
    },

    async owner(volumeId) {
      const r = await db('space_volumes').where({ volume_id: volumeId }).orderBy('space_id').first('space_id');
      return r ? (r.space_id as string) : null;
    },

    async record(v, now) {
      const existing = await volumes.get(v.spaceId, v.volumeId);
      if (existing) {
        if (v.nomadId && existing.nomadId !== v.nomadId) {
          await db('space_volumes').where({ space_id: v.spaceId, volume_id: v.volumeId }).update({ nomad_id: v.nomadId });
        }
        return;
      }
      await db('space_volumes').insert({ space_id: v.spaceId, volume_id: v.volumeId, type: v.type, nomad_id: v.nomadId, created_by_operation: v.createdByOperation, created_at: now });
    },

    async forget(spaceId, volumeId) {
      await db('space_volumes').where({ space_id: spaceId, volume_id: volumeId }).delete();
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
