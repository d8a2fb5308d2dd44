/**
 * Volume activities. The space_volumes row is written before Nomad is asked to create, and it
 * says which operation created the volume, so compensation deletes exactly the volumes its own
 * run created and never a volume (or data) the space had before.
 */
import { ErrorType } from '../core/errors';
import type { VolumeSpec } from '../core/volumes';
import { forgetSpaceVolume, getSpaceVolume, recordSpaceVolume, volumeOwner } from '../store/space-volumes';
import type { StepRef } from '../core/events';
import type { ActivityDeps } from './deps';
import { nonRetryable } from './failure';
import { renderSpace } from './render-space';

async function findHostVolumeId(deps: ActivityDeps, name: string): Promise<string | null> {
  const list = await deps.nomad.listHostVolumes();
  return list.find((v) => v.Name === name)?.ID ?? null;
}

export function createNomadVolumeActivities(deps: ActivityDeps) {
  const now = () => deps.clock();

  async function specFor(spaceId: string, version: string, volumeId: string): Promise<VolumeSpec> {
    const rendered = await renderSpace(deps, spaceId, version);
    const spec = rendered.volumes.find((v) => v.id === volumeId);
    if (!spec) throw nonRetryable(ErrorType.VolumeSpec, `volume '${volumeId}' is not in template version ${version}`);
    return spec;
  }

  return {
    async createSpaceVolume(input: { spaceId: string; operationId: string; version: string; volumeId: string; step?: StepRef }): Promise<{ created: boolean }> {
      const spec = await specFor(input.spaceId, input.version, input.volumeId);
      const owner = await volumeOwner(deps.db, spec.id);
      if (owner && owner !== input.spaceId) {
        throw nonRetryable(ErrorType.Conflict, `volume '${spec.id}' belongs to space ${owner}; give each space its own volume id (use \${{ .space.id }})`);
      }
      const row = await getSpaceVolume(deps.db, input.spaceId, spec.id);
      if (spec.type === 'csi') {
        const exists = await deps.nomad.readCsiVolume(spec.id);
        if (exists && (!row || row.createdByOperation !== input.operationId)) {
          // a volume knot lost track of (e.g. a crash after create in an older version): adopt it, keep its data
          await recordSpaceVolume(deps.db, { spaceId: input.spaceId, volumeId: spec.id, type: 'csi', nomadId: spec.id, createdByOperation: row?.createdByOperation ?? null }, now());
          return { created: false };
        }
        await recordSpaceVolume(deps.db, { spaceId: input.spaceId, volumeId: spec.id, type: 'csi', nomadId: spec.id, createdByOperation: input.operationId }, now());
        if (!exists) await deps.nomad.createCsiVolume(spec);
        return { created: true };
      }
      const existingId = await findHostVolumeId(deps, spec.name);
      if (existingId && (!row || row.createdByOperation !== input.operationId)) {
        await recordSpaceVolume(deps.db, { spaceId: input.spaceId, volumeId: spec.id, type: 'host', nomadId: existingId, createdByOperation: row?.createdByOperation ?? null }, now());
        return { created: false };
      }
      await recordSpaceVolume(deps.db, { spaceId: input.spaceId, volumeId: spec.id, type: 'host', nomadId: existingId, createdByOperation: input.operationId }, now());
      if (!existingId) {
        const created = await deps.nomad.createHostVolume(spec);
        await recordSpaceVolume(deps.db, { spaceId: input.spaceId, volumeId: spec.id, type: 'host', nomadId: created.ID, createdByOperation: input.operationId }, now());
      }
      return { created: true };
    },

    /**
     * Deletes a space volume and its data. With `onlyIfCreatedBy`, only when that operation created
     * it (compensation); otherwise unconditionally (template removed it, or the space is deleted).
     * `volume in use` is retryable: claims drain after the allocation stops.
     */
    async deleteSpaceVolume(input: { spaceId: string; volumeId: string; onlyIfCreatedBy?: string; step?: StepRef }): Promise<{ deleted: boolean }> {
      const row = await getSpaceVolume(deps.db, input.spaceId, input.volumeId);
      if (!row) return { deleted: false };
      if (input.onlyIfCreatedBy && row.createdByOperation !== input.onlyIfCreatedBy) return { deleted: false };
      if (row.type === 'csi') {
        await deps.nomad.deleteCsiVolume(row.nomadId ?? row.volumeId);
      } else {
        const id = row.nomadId ?? (await findHostVolumeId(deps, row.volumeId));
        if (id) await deps.nomad.deleteHostVolume(id);
      }
      await forgetSpaceVolume(deps.db, input.spaceId, input.volumeId);
      return { deleted: true };
    },

  };
}

export type NomadVolumeActivities = ReturnType<typeof createNomadVolumeActivities>;
