/**
 * Volume activities. The space_volumes row is written before Nomad is asked to create, and it
 * says which operation created the volume, so compensation deletes exactly the volumes its own
 * run created and never a volume (or data) the space had before.
 */
import { ErrorType, KnotError } from '../core/errors';
import { allocationIsLive, allocationMountsVolume, volumeInUseReason } from '../nomad/volume-claims';
import type { AllocListStub } from '../nomad/types';
import type { VolumeSpec } from '../core/volumes';
import type { StepRef } from '../core/events';
import type { ActivityDeps } from './deps';
import { nonRetryable } from './failure';
import { renderSpace } from './render-space';

/**
 * Deletes a volume and its data, but only once nothing claims it and no allocation of `jobId` can
 * still run (see nomad/volume-claims.ts for why Nomad's own `volume in use` cannot be relied on).
 * A volume still in use fails with a retryable NomadVolumeInUse, so the caller's retry policy waits
 * for the claims to drain. Already gone → false.
 */
export async function deleteVolumeIfUnclaimed(
  deps: Pick<ActivityDeps, 'nomad'>,
  volume: { type: 'csi' | 'host'; nomadId: string | null; name: string },
  jobId: string | null,
): Promise<boolean> {
  const jobAllocs = jobId ? await liveAllocationsMounting(deps, jobId, volume) : [];
  if (volume.type === 'csi') {
    const id = volume.nomadId ?? volume.name;
    const current = await deps.nomad.readCsiVolume(id);
    if (!current) return false;
    refuseWhileInUse(id, volumeInUseReason(current, jobAllocs));
    await deps.nomad.deleteCsiVolume(id);
    return true;
  }
  const id = volume.nomadId ?? (await findHostVolumeId(deps, volume.name));
  if (!id) return false;
  const current = await deps.nomad.readHostVolume(id);
  if (!current) return false;
  refuseWhileInUse(volume.name, volumeInUseReason({ ReadAllocs: null, WriteAllocs: null, Allocations: current.Allocations ?? null }, jobAllocs));
  await deps.nomad.deleteHostVolume(id);
  return true;
}

/**
 * The allocations of the space's job (every incarnation) that can still run and whose group mounts
 * the volume. A running space whose template dropped the volume has a live allocation that does
 * not mount it; that one must not keep the volume alive.
 */
async function liveAllocationsMounting(deps: Pick<ActivityDeps, 'nomad'>, jobId: string, volume: { type: 'csi' | 'host'; name: string }): Promise<AllocListStub[]> {
  const live = (await deps.nomad.jobAllocations(jobId, { all: true })).filter(allocationIsLive);
  const mounting: AllocListStub[] = [];
  for (const stub of live) {
    const alloc = await deps.nomad.readAllocation(stub.ID);
    if (alloc && allocationIsLive(alloc) && allocationMountsVolume(alloc, volume)) mounting.push(stub);
  }
  return mounting;
}

function refuseWhileInUse(volumeId: string, reason: string | null): void {
  if (reason) throw new KnotError(ErrorType.NomadVolumeInUse, `volume ${volumeId} is still in use (${reason}); not deleting it until it is released`, { retryable: true, details: { volumeId } });
}

async function findHostVolumeId(deps: Pick<ActivityDeps, 'nomad'>, name: string): Promise<string | null> {
  const list = await deps.nomad.listHostVolumes();
  return list.find((v) => v.Name === name)?.ID ?? null;
}

export function createNomadVolumeActivities(deps: ActivityDeps) {
  const now = () => deps.clock();

  async function specFor(spaceId: string, version: string, volumeId: string): Promise<VolumeSpec> {
    const rendered = await renderSpace(deps, spaceId, version, { only: 'volumes' });
    const spec = rendered.volumes.find((v) => v.id === volumeId);
    if (!spec) throw nonRetryable(ErrorType.VolumeSpec, `volume '${volumeId}' is not in template version ${version}`);
    return spec;
  }

  return {
    async createSpaceVolume(input: { spaceId: string; operationId: string; version: string; volumeId: string; step?: StepRef }): Promise<{ created: boolean }> {
      const spec = await specFor(input.spaceId, input.version, input.volumeId);
      const owner = await deps.store.volumes.owner(spec.id);
      if (owner && owner !== input.spaceId) {
        throw nonRetryable(ErrorType.Conflict, `volume '${spec.id}' belongs to space ${owner}; give each space its own volume id (use \${{ .space.id }})`);
      }
      const row = await deps.store.volumes.get(input.spaceId, spec.id);
      if (spec.type === 'csi') {
        const exists = await deps.nomad.readCsiVolume(spec.id);
        if (exists && (!row || row.createdByOperation !== input.operationId)) {
          // a volume knot lost track of (e.g. a crash after create in an older version): adopt it, keep its data
          await deps.store.volumes.record({ spaceId: input.spaceId, volumeId: spec.id, type: 'csi', nomadId: spec.id, createdByOperation: row?.createdByOperation ?? null }, now());
          return { created: false };
        }
        await deps.store.volumes.record({ spaceId: input.spaceId, volumeId: spec.id, type: 'csi', nomadId: spec.id, createdByOperation: input.operationId }, now());
        if (!exists) await deps.nomad.createCsiVolume(spec);
        return { created: true };
      }
      const existingId = await findHostVolumeId(deps, spec.name);
      if (existingId && (!row || row.createdByOperation !== input.operationId)) {
        await deps.store.volumes.record({ spaceId: input.spaceId, volumeId: spec.id, type: 'host', nomadId: existingId, createdByOperation: row?.createdByOperation ?? null }, now());
        return { created: false };
      }
      await deps.store.volumes.record({ spaceId: input.spaceId, volumeId: spec.id, type: 'host', nomadId: existingId, createdByOperation: input.operationId }, now());
      if (!existingId) {
        const created = await deps.nomad.createHostVolume(spec);
        await deps.store.volumes.record({ spaceId: input.spaceId, volumeId: spec.id, type: 'host', nomadId: created.ID, createdByOperation: input.operationId }, now());
      }
      return { created: true };
    },

    /**
     * Deletes a space volume and its data. With `onlyIfCreatedBy`, only when that operation created
     * it (compensation); otherwise whenever it is no longer in use (template removed it, or the
     * space is deleted). While claims drain after the allocation stops the activity fails with a
     * retryable NomadVolumeInUse and is tried again; it never asks Nomad to delete a claimed volume.
     */
    async deleteSpaceVolume(input: { spaceId: string; volumeId: string; onlyIfCreatedBy?: string; step?: StepRef }): Promise<{ deleted: boolean }> {
      const row = await deps.store.volumes.get(input.spaceId, input.volumeId);
      if (!row) return { deleted: false };
      if (input.onlyIfCreatedBy && row.createdByOperation !== input.onlyIfCreatedBy) return { deleted: false };
      const jobId = (await deps.store.spaces.get(input.spaceId))?.nomadJobId ?? null;
      const deleted = await deleteVolumeIfUnclaimed(deps, { type: row.type, nomadId: row.nomadId, name: row.volumeId }, jobId);
      await deps.store.volumes.forget(input.spaceId, input.volumeId);
      return { deleted };
    },
  };
}

export type NomadVolumeActivities = ReturnType<typeof createNomadVolumeActivities>;
