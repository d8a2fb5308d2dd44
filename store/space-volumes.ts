/**
 * Which Nomad volumes belong to which space, and which operation created them. A row is written
 * before the volume is created in Nomad, so a crash between the two can never leak a volume that
 * no compensation knows about.
 */
import type { Db } from './db';
import { chunks } from '../core/batches';

export interface SpaceVolume {
  spaceId: string;
  volumeId: string;
  type: 'csi' | 'host';
  /** Nomad's id for host volumes (Nomad assigns it); equals volumeId for CSI */
  nomadId: string | null;
  createdByOperation: string | null;
  createdAt: number;
}

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

export async function listSpaceVolumes(db: Db, spaceId: string): Promise<SpaceVolume[]> {
  const rows = await db('space_volumes').where({ space_id: spaceId }).orderBy('volume_id');
  return rows.map(fromRow);
}

/** Volumes of many spaces in one query (list views), grouped by space. */
export async function listVolumesOfSpaces(db: Db, spaceIds: readonly string[]): Promise<Map<string, SpaceVolume[]>> {
  const out = new Map<string, SpaceVolume[]>();
  if (spaceIds.length === 0) return out;
  const rows = await db('space_volumes').whereIn('space_id', [...spaceIds]).orderBy(['space_id', 'volume_id']);
  for (const r of rows.map(fromRow)) out.set(r.spaceId, [...(out.get(r.spaceId) ?? []), r]);
  return out;
}

export async function getSpaceVolume(db: Db, spaceId: string, volumeId: string): Promise<SpaceVolume | null> {
  const r = await db('space_volumes').where({ space_id: spaceId, volume_id: volumeId }).first();
  return r ? fromRow(r) : null;
}

/** Which live space (if any) owns a volume id; knot's volume ids are global in a Nomad namespace. */
export async function volumeOwner(db: Db, volumeId: string): Promise<string | null> {
  const r = await db('space_volumes').where({ volume_id: volumeId }).first('space_id');
  return r ? (r.space_id as string) : null;
}

export async function recordSpaceVolume(db: Db, v: Omit<SpaceVolume, 'createdAt'>, now: number): Promise<void> {
  const existing = await getSpaceVolume(db, v.spaceId, v.volumeId);
  if (existing) {
    if (v.nomadId && existing.nomadId !== v.nomadId) {
      await db('space_volumes').where({ space_id: v.spaceId, volume_id: v.volumeId }).update({ nomad_id: v.nomadId });
    }
    return;
  }
  await db('space_volumes').insert({
    space_id: v.spaceId,
    volume_id: v.volumeId,
    type: v.type,
    nomad_id: v.nomadId,
    created_by_operation: v.createdByOperation,
    created_at: now,
  });
}

export async function forgetSpaceVolume(db: Db, spaceId: string, volumeId: string): Promise<void> {
  await db('space_volumes').where({ space_id: spaceId, volume_id: volumeId }).delete();
}

/** knot's record of a Nomad volume, with the facts of the space that holds it. */
export interface VolumeRecord extends SpaceVolume {
  spaceDeletedAt: number | null;
}

function recordFromRow(r: Record<string, unknown>): VolumeRecord {
  return { ...fromRow(r), spaceDeletedAt: r.deleted_at == null ? null : Number(r.deleted_at) };
}

const RECORD_COLUMNS = ['space_volumes.*', 'spaces.deleted_at'];

/** The records of these Nomad volumes (by knot volume id or Nomad id), keyed by both. */
export async function volumeRecords(db: Db, names: readonly string[]): Promise<Map<string, VolumeRecord>> {
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
}

/** Up to `limit` volume records of spaces deleted before `before`, oldest deletion first. */
export async function volumeRecordsOfDeletedSpaces(db: Db, before: number, limit: number): Promise<VolumeRecord[]> {
  const rows = await db('space_volumes')
    .join('spaces', 'spaces.id', 'space_volumes.space_id')
    .whereNotNull('spaces.deleted_at')
    .where('spaces.deleted_at', '<', before)
    .orderBy('spaces.deleted_at')
    .limit(limit)
    .select(RECORD_COLUMNS);
  return rows.map(recordFromRow);
}
