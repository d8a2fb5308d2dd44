/** Every activity the worker registers, built from injected dependencies. */
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failure';
import { withActivityMetrics } from './metrics';
import { createManualActivities } from './manual';
import { createNomadJobActivities } from './nomad-jobs';
import { createNomadVolumeActivities } from './nomad-volumes';
import { createSpaceRecordActivities } from './space-records';
import { withStepRecording } from './steps';
import { createSweepActivities } from './sweeps';

export function createActivities(deps: ActivityDeps) {
  return withFailureMapping(
    withStepRecording(
      deps,
      withActivityMetrics(
        {
          ...createSpaceRecordActivities(deps),
          ...createNomadJobActivities(deps),
          ...createNomadVolumeActivities(deps),
          ...createManualActivities(deps),
          ...createSweepActivities(deps),
        },
        deps.metrics,
      ),
    ),
  );
}

export type KnotActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
