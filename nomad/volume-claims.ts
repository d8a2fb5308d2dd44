/**
 * Whether a volume may be deleted now. Nomad 1.6 asks the CSI plugin to delete the storage
 * *before* it checks for claims (CSIVolume.Delete), so a delete answered `volume in use` may
 * already have destroyed the data; Nomad's docs leave the check to the caller. knot therefore
 * deletes a volume only when nothing claims it and nothing of the space's job can still run.
 */
import type { Allocation, AllocListStub, CsiVolume } from './types';

const TERMINAL = new Set(['complete', 'failed', 'lost']);

type ClaimView = Pick<CsiVolume, 'ReadAllocs' | 'WriteAllocs' | 'Allocations'>;
type AllocView = Pick<AllocListStub, 'ID' | 'ClientStatus'>;

/**
 * Why the volume must not be deleted yet, or null when it may be. `jobAllocs` are the live
 * allocations of the space's job that mount it (see `allocationMountsVolume`): any of them may
 * still claim it.
 */
export function volumeInUseReason(volume: ClaimView | null, jobAllocs: readonly AllocView[] = []): string | null {
  const claims = [...Object.keys(volume?.WriteAllocs ?? {}), ...Object.keys(volume?.ReadAllocs ?? {})];
  if (claims.length > 0) return `claimed by allocation${claims.length > 1 ? 's' : ''} ${claims.map(short).join(', ')}`;
  const users = (volume?.Allocations ?? []).filter((a) => !TERMINAL.has(a.ClientStatus));
  if (users.length > 0) return `used by running allocation${users.length > 1 ? 's' : ''} ${users.map((a) => short(a.ID)).join(', ')}`;
  const live = jobAllocs.filter((a) => !TERMINAL.has(a.ClientStatus));
  if (live.length > 0) return `the space's job still has allocation${live.length > 1 ? 's' : ''} ${live.map((a) => short(a.ID)).join(', ')} not terminal`;
  return null;
}

function short(id: string): string {
  return id.slice(0, 8);
}

/** Whether the allocation's task group asks for this volume (`per_alloc` sources end in `[N]`). */
export function allocationMountsVolume(alloc: Pick<Allocation, 'TaskGroup' | 'Job'>, volume: { type: 'csi' | 'host'; name: string }): boolean {
  const group = (alloc.Job?.TaskGroups ?? []).find((tg) => tg.Name === alloc.TaskGroup);
  // without the job we cannot tell: count it as mounting, deleting data is not worth the guess
  if (!group) return true;
  return Object.values(group.Volumes ?? {}).some(
    (req) => (req.Type || 'host') === volume.type && (req.Source === volume.name || (req.PerAlloc && volume.name.startsWith(`${req.Source}[`))),
  );
}

/** Whether an allocation can still run (and so hold or take a claim). */
export function allocationIsLive(alloc: Pick<AllocListStub, 'ClientStatus'>): boolean {
  return !TERMINAL.has(alloc.ClientStatus);
}

/** The CSI volume ids a job's groups claim (`per_alloc` sources expand to `source[N]`). */
export function csiVolumeIdsOfJob(job: { TaskGroups?: Array<{ Count?: number | null; Volumes?: Record<string, { Type: string; Source: string; PerAlloc?: boolean }> | null }> | null }): string[] {
  const ids = new Set<string>();
  for (const group of job.TaskGroups ?? []) {
    for (const req of Object.values(group.Volumes ?? {})) {
      if (req.Type !== 'csi') continue;
      if (!req.PerAlloc) ids.add(req.Source);
      else for (let i = 0; i < Math.max(1, group.Count ?? 1); i++) ids.add(`${req.Source}[${i}]`);
    }
  }
  return [...ids];
}

/**
 * Why a job about to be registered would find the volume still held by a *stopped* allocation, or
 * null. Nomad frees a claim only after its allocation is terminal and the volume watcher has
 * detached it from the node (unpublished, unstaged). Meanwhile:
 * - another job cannot be placed on the volume ("exhausted its available writer claims", the
 *   evaluation blocks): a stopped space starting under a new job id (transferred, renamed);
 * - the same job is placed (Nomad lets its own claims pass), but the new allocation's mount races
 *   the old one's unmount on the node. On Nomad 1.6 with the CSI hostpath plugin a start right
 *   after a stop failed so ("volume … must be staged before publishing"), seen under
 *   tests/nomad/chaos.test.ts.
 * Waiting a moment is the fix for both, failing the start is not. A claim by a *live* allocation
 * Nomad means to keep running is no such wait, and is left for Nomad's placement to report.
 */
export function claimDrainingReason(volume: ClaimView | null): string | null {
  if (!volume) return null;
  const claimants = [...Object.keys(volume.WriteAllocs ?? {}), ...Object.keys(volume.ReadAllocs ?? {})];
  const known = new Map((volume.Allocations ?? []).map((a) => [a.ID, a]));
  const draining = claimants.filter((id) => {
    const alloc = known.get(id);
    // an allocation Nomad no longer lists has stopped: its claim is on its way out; so is one Nomad
    // is stopping (a purged job's allocation can still be shutting down when its job is gone)
    return !alloc || !allocationIsLive(alloc) || alloc.DesiredStatus !== 'run';
  });
  if (draining.length === 0) return null;
  return `still claimed by allocation${draining.length > 1 ? 's' : ''} ${draining.map(short).join(', ')} of a stopped job while Nomad releases the claim`;
}
