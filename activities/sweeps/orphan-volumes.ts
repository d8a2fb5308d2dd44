/**
 * Deletes CSI and host volumes that knot made for spaces that are gone. A volume is knot's when
 * its name contains a knot id (every template names volumes after `.space.id` to keep them
 * apart); it is an orphan when no row of `space_volumes` owns it and every id in its name is a
 * deleted space, or an id the store does not know at all (not a space, user, template or group;
 * a space long purged) that is older than `graceMs`. Volumes without such an id are never touched.
 */
import { forEachLimit } from '../../core/batches';
import { embeddedIds, volumeIsOrphanCandidate, type KnownIds, type OrphanVolumesResult } from '../../core/sweeps';
import { existingGroupIds } from '../../store/groups';
import { ownedVolumeNames } from '../../store/space-volumes';
import { spaceIdsByDeletion } from '../../store/spaces';
import { existingTemplateIds } from '../../store/templates';
import { existingUserIds } from '../../store/users';
import { heartbeat } from '../context';
import type { ActivityDeps } from '../deps';

export function createOrphanVolumeActivities(deps: ActivityDeps) {
  const log = deps.logger;

  /** What the store knows about these ids: spaces (live or deleted), and other objects among the rest. */
  async function knownIds(ids: readonly string[]): Promise<KnownIds> {
    const { live, deleted } = await spaceIdsByDeletion(deps.db, ids);
    const unknown = ids.filter((id) => !live.has(id) && !deleted.has(id));
    const other = new Set<string>();
    for (const found of [await existingUserIds(deps.db, unknown), await existingTemplateIds(deps.db, unknown), await existingGroupIds(deps.db, unknown)]) {
      for (const id of found) other.add(id);
    }
    return { liveSpaces: live, deletedSpaces: deleted, otherObjects: other };
  }

  return {
    async cleanupOrphanVolumes(input: { graceMs?: number } = {}): Promise<OrphanVolumesResult> {
      const graceMs = input.graceMs ?? 10 * 60_000;
      const result: OrphanVolumesResult = { checked: 0, deleted: 0, failed: 0 };
      const [csi, host] = await Promise.all([deps.nomad.listCsiVolumes(), deps.nomad.listHostVolumes()]);
      heartbeat();
      const volumes = [
        ...csi.map((v) => ({ type: 'csi' as const, nomadId: v.ID, name: v.ID })),
        ...host.map((v) => ({ type: 'host' as const, nomadId: v.ID, name: v.Name })),
      ]
        .map((v) => ({ ...v, ids: embeddedIds(v.name) }))
        .filter((v) => v.ids.length > 0);
      result.checked = volumes.length;

      const known = await knownIds([...new Set(volumes.flatMap((v) => v.ids))]);
      const now = deps.clock();
      const candidates = volumes.filter((v) => volumeIsOrphanCandidate(v.ids, known, now, graceMs));

      // the few candidates are checked against every ownership row, whichever space holds it
      const owned = await ownedVolumeNames(deps.db, candidates.flatMap((v) => [v.name, v.nomadId]));

      await forEachLimit(
        candidates.filter((v) => !owned.has(v.name) && !owned.has(v.nomadId)),
        5,
        async (v) => {
          try {
            if (v.type === 'csi') await deps.nomad.deleteCsiVolume(v.nomadId);
            else await deps.nomad.deleteHostVolume(v.nomadId);
            result.deleted++;
            log.info({ volumeId: v.name, type: v.type }, 'cleanup: deleted orphan volume');
          } catch (e) {
            // typically `volume in use` while an orphan job's claims drain: the next sweep retries
            result.failed++;
            log.warn({ volumeId: v.name, type: v.type, err: (e as Error).message }, 'cleanup: could not delete orphan volume');
          }
          heartbeat();
        },
      );
      return result;
    },
  };
}
