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
import { createWebhookActivities } from './webhooks';

export function createActivities(deps: ActivityDeps) {
  return withFailureMapping(
    withActivityMetrics(
      withStepRecording(deps, {
        ...createSpaceRecordActivities(deps),
        ...createNomadJobActivities(deps),
        ...createNomadVolumeActivities(deps),
        ...createManualActivities(deps),
        ...createSweepActivities(deps),
        ...createWebhookActivities(deps),
      }),
      deps.metrics,
    ),
  );
}

export type KnotActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
