/**
 * The Temporal Schedules that run the sweeps, applied idempotently at every worker start: created
 * when missing, brought up to date when present (interval, task queue, inputs), deleted when
 * schedules are disabled. Operators see and pause them in the Temporal UI.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { parseDurationMs } from '../core/config';
import { ScheduleIds } from '../temporal/names';
import { SWEEP_WORKFLOWS } from '../temporal/workflows';
import type { AutoStopSweepInput, CleanupSweepInput } from '../core/sweeps';

export interface ScheduleSettings {
  taskQueue: string;
  /** `1m`, `15m` (config durations) or milliseconds */
  autoStopInterval: string | number;
  cleanupInterval: string | number;
  enabled: boolean;
  /** `server.schedules.idle_timeout` (0 / absent: only templates' idleTimeout) */
  idleTimeout?: string | number;
  /** `server.schedules.deleted_retention` */
  deletedRetention?: string | number;
  /** `server.schedules.audit_retention` */
  auditRetention?: string | number;
  /** `server.schedules.dormant_warning` */
  dormantWarning?: string | number;
  /** other schedule ids (tests); workflow ids are `<schedule id>-sweep` */
  ids?: { autoStop: string; cleanup: string };
}

export type ScheduleChange = 'created' | 'updated' | 'deleted' | 'absent';

export interface ScheduleOutcome {
  autoStop: ScheduleChange;
  cleanup: ScheduleChange;
}

const ms = (d: string | number): number => (typeof d === 'number' ? d : parseDurationMs(d));

interface Definition {
  scheduleId: string;
  note: string;
  spec: ScheduleSpec;
  action: ScheduleOptionsStartWorkflowAction<Workflow>;
}

function definitions(s: ScheduleSettings): Definition[] {
  const ids = s.ids ?? ScheduleIds;
  const autoStopInput: AutoStopSweepInput = s.idleTimeout !== undefined ? { idleTimeoutMs: ms(s.idleTimeout) } : {};
  const cleanupInput: CleanupSweepInput = {
    ...(s.deletedRetention !== undefined ? { deletedRetentionMs: ms(s.deletedRetention) } : {}),
    ...(s.auditRetention !== undefined ? { auditRetentionMs: ms(s.auditRetention) } : {}),
    ...(s.dormantWarning !== undefined ? { dormantWarningMs: ms(s.dormantWarning) } : {}),
  };
  return [
    {
      scheduleId: ids.autoStop,
      note: "knot: stops spaces past their template's max uptime, outside its schedule, or idle",
      spec: { intervals: [{ every: ms(s.autoStopInterval) }] },
      action: { type: 'startWorkflow', workflowType: SWEEP_WORKFLOWS.autoStop, workflowId: `${ids.autoStop}-sweep`, taskQueue: s.taskQueue, args: [autoStopInput] },
    },
    {
      scheduleId: ids.cleanup,
      note: 'knot: purges orphan Nomad jobs and volumes, fails stuck operations, forgets deleted spaces and audit entries past retention',
      spec: { intervals: [{ every: ms(s.cleanupInterval) }] },
      action: { type: 'startWorkflow', workflowType: SWEEP_WORKFLOWS.cleanup, workflowId: `${ids.cleanup}-sweep`, taskQueue: s.taskQueue, args: [cleanupInput] },
    },
  ];
}

// SKIP: a sweep still running when the next is due is not doubled; catch-up of one interval
// only, so a worker down for an hour does not replay sixty sweeps when it returns
const policies = (spec: ScheduleSpec) => {
  const every = spec.intervals?.[0]?.every;
  return { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: typeof every === 'number' ? Math.max(every, 60_000) : 60_000, pauseOnFailure: false };
};

async function apply(client: Client, d: Definition): Promise<ScheduleChange> {
  try {
    await client.schedule.create({ scheduleId: d.scheduleId, spec: d.spec, action: d.action, policies: policies(d.spec), state: { note: d.note } });
    return 'created';
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
  }
  // keep the operator's pause: only the definition is ours to bring up to date
  await client.schedule.getHandle(d.scheduleId).update((previous) => ({
    spec: d.spec,
    action: d.action,
    policies: policies(d.spec),
    state: { paused: previous.state.paused, note: previous.state.paused ? previous.state.note : d.note },
  }));
  return 'updated';
}

async function remove(client: Client, scheduleId: string): Promise<ScheduleChange> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
    return 'deleted';
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return 'absent';
    throw e;
  }
}

/** Creates or updates `knot-auto-stop` and `knot-cleanup`, or deletes them when disabled. */
export async function ensureSchedules(client: Client, settings: ScheduleSettings): Promise<ScheduleOutcome> {
  const [autoStop, cleanup] = definitions(settings) as [Definition, Definition];
  if (!settings.enabled) {
    return { autoStop: await remove(client, autoStop.scheduleId), cleanup: await remove(client, cleanup.scheduleId) };
  }
  return { autoStop: await apply(client, autoStop), cleanup: await apply(client, cleanup) };
}
