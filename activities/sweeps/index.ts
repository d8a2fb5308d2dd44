/**
 * The scheduled sweeps' side effects, one file each. Each reads the store page by page through
 * an index (never every row), so a sweep over 100,000 spaces stays in seconds; each heartbeats
 * its progress so a retry resumes where the previous attempt stopped. The decisions are pure, in
 * core/sweeps.ts.
 */
import type { ActivityDeps } from '../deps';
import { createAutoStopActivities } from './auto-stop';
import { createAutostartActivities } from './autostart';
import { createDormantActivities } from './dormant';
import { createNeverStartedOperationActivities } from './never-started-operations';
import { createOrphanJobActivities } from './orphan-jobs';
import { createOrphanVolumeActivities } from './orphan-volumes';
import { createPurgeDeletedActivities } from './purge-deleted';
import { createStuckOperationActivities } from './stuck-operations';

export function createSweepActivities(deps: ActivityDeps) {
  return {
    ...createAutoStopActivities(deps),
    ...createAutostartActivities(deps),
    ...createOrphanJobActivities(deps),
    ...createOrphanVolumeActivities(deps),
    ...createStuckOperationActivities(deps),
    ...createNeverStartedOperationActivities(deps),
    ...createPurgeDeletedActivities(deps),
    ...createDormantActivities(deps),
  };
}
