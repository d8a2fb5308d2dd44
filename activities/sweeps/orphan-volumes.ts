/**
 * Deletes the Nomad volumes of deleted spaces that knot made and could not delete at the time.
 * Only a volume knot has a record of counts (core/sweeps.ts `volumeIsOrphan`): never one picked by
 * its name. Each deletion goes through the same claim check as the lifecycle's
 * (`deleteVolumeIfUnclaimed`), so a volume still claimed — e.g. by an orphan job the sweep has
 * just purged, whose allocations are still stopping — is left for a later sweep.
 *
 * The CSI and host lists are read independently: a Nomad before 1.10 has no host volumes, and one
 * list failing must not keep the other's orphans forever.
 */
import { forEachLimit } from '../../core/batches';
import { ErrorType, isKnotError } from '../../core/errors';
import { volumeIsOrphan, type OrphanVolumesResult } from '../../core/sweeps';
import type { CsiVolumeListStub, HostVolumeStub } from '../../nomad/types';
import type { VolumeRecord } from '../../store/model';
import { heartbeat } from '../context';
import type { ActivityDeps } from '../deps';
import { deleteVolumeIfUnclaimed } from '../nomad-volumes';

/** Records of deleted spaces looked at per sweep for volumes Nomad no longer has. */
const FORGET_PAGE = 500;

interface ListedVolume {
  type: 'csi' | 'host';
  nomadId: string;
  name: string;
}

export function createOrphanVolumeActivities(deps: ActivityDeps) {
  const log = deps.logger;

  async function listVolumes(result: OrphanVolumesResult): Promise<{ volumes: ListedVolume[]; listed: Set<'csi' | 'host'> }> {
    const [csi, host] = await Promise.allSettled([deps.nomad.listCsiVolumes(), deps.nomad.listHostVolumes()]);
    const volumes: ListedVolume[] = [];
    const listed = new Set<'csi' | 'host'>();
    if (csi.status === 'fulfilled') {
      listed.add('csi');
      volumes.push(...csi.value.map((v: CsiVolumeListStub) => ({ type: 'csi' as const, nomadId: v.ID, name: v.ID })));
    } else result.listErrors.push(`CSI volumes: ${(csi.reason as Error).message}`);
    if (host.status === 'fulfilled') {
      listed.add('host');
      volumes.push(...host.value.map((v: HostVolumeStub) => ({ type: 'host' as const, nomadId: v.ID, name: v.Name })));
    } else result.listErrors.push(`host volumes: ${(host.reason as Error).message}`);
    if (listed.size === 0) throw new Error(`no volume list could be read: ${result.listErrors.join('; ')}`);
    return { volumes, listed };
  }

  return {
    async cleanupOrphanVolumes(input: { graceMs?: number } = {}): Promise<OrphanVolumesResult> {
      const graceMs = input.graceMs ?? 10 * 60_000;
      const result: OrphanVolumesResult = { checked: 0, deleted: 0, inUse: 0, failed: 0, forgotten: 0, listErrors: [] };
      const { volumes, listed } = await listVolumes(result);
      heartbeat();
      const records = await deps.store.volumes.records(volumes.flatMap((v) => [v.name, v.nomadId]));
      const recordOf = (v: ListedVolume) => records.get(v.nomadId) ?? records.get(v.name);
      result.checked = volumes.filter((v) => recordOf(v)).length;
      const now = deps.clock();
      const orphans = volumes.flatMap((v) => {
        const record = recordOf(v);
        return record && volumeIsOrphan(record, now, graceMs) ? [{ volume: v, record }] : [];
      });

      await forEachLimit(orphans, 5, async ({ volume, record }) => {
        try {
          await deleteVolumeIfUnclaimed(deps, { type: volume.type, nomadId: volume.nomadId, name: volume.name }, null);
          await deps.store.volumes.forget(record.spaceId, record.volumeId);
          result.deleted++;
          log.info({ volumeId: volume.name, type: volume.type, spaceId: record.spaceId }, 'cleanup: deleted orphan volume');
        } catch (e) {
          if (isKnotError(e) && e.type === ErrorType.NomadVolumeInUse) {
            result.inUse++;
            log.info({ volumeId: volume.name, reason: e.message }, 'cleanup: orphan volume still in use; next sweep');
          } else {
            result.failed++;
            log.warn({ volumeId: volume.name, type: volume.type, err: (e as Error).message }, 'cleanup: could not delete orphan volume');
          }
        }
        heartbeat();
      });

      // records whose volume Nomad no longer lists were deleted already: drop them, so the
      // deleted space can be purged (only for the lists that were read)
      const present = new Set(volumes.flatMap((v) => [v.name, v.nomadId]));
      const stale = (await deps.store.volumes.recordsOfDeletedSpaces(now - graceMs, FORGET_PAGE)).filter(
        (r: VolumeRecord) => listed.has(r.type) && !present.has(r.volumeId) && !(r.nomadId && present.has(r.nomadId)),
      );
      for (const r of stale) {
        await deps.store.volumes.forget(r.spaceId, r.volumeId);
        result.forgotten++;
      }
      return result;
    },
  };
}
