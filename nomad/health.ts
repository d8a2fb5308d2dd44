import type { AllocationMetric, AllocListStub, ClientStatus, Evaluation, Job, TaskState } from './types';

type AllocView = Pick<AllocListStub, 'ID' | 'DesiredStatus' | 'ClientStatus' | 'TaskStates' | 'DeploymentStatus'> &
  Partial<Pick<AllocListStub, 'JobVersion' | 'ClientDescription' | 'CreateIndex'>>;

type JobView = Pick<Job, 'Type' | 'Update' | 'TaskGroups' | 'Version'>;

export type SpaceAllocationStatus =
  /** An allocation is up exactly as CONTRACT.md defines it. */
  | { state: 'up'; allocId: string }
  /** Still on its way; keep waiting. */
  | { state: 'starting'; reason: string }
  /** Nomad could not place the job (blocked eval / FailedTGAllocs); waiting longer will not help. */
  | { state: 'placement_failed'; reason: string }
  /** An allocation failed or was lost, or its deployment health check failed. */
  | { state: 'failed'; reason: string; allocId: string };

const TERMINAL: ReadonlySet<ClientStatus> = new Set<ClientStatus>(['complete', 'failed', 'lost']);

/**
 * Whether Nomad will run a deployment for the job, and so mark its allocations healthy. Only
 * service jobs get deployments, and only for groups whose update strategy has `MaxParallel > 0`.
 * Real Nomad answers a zero-valued `Update` block for every job, batch included, so a block's mere
 * presence says nothing; an absent strategy (a parsed, not yet canonicalized job) means Nomad's
 * default for service jobs (`max_parallel = 1`).
 */
export function jobUsesDeployments(job: JobView): boolean {
  if ((job.Type || 'service') !== 'service') return false;
  const groups = job.TaskGroups ?? [];
  const strategies = groups.length > 0 ? groups.map((tg) => tg.Update ?? job.Update ?? null) : [job.Update ?? null];
  return strategies.some((u) => u === null || u.MaxParallel === null || u.MaxParallel > 0);
}

function allTasksRunning(states: Record<string, TaskState> | null): boolean {
  const list = Object.values(states ?? {});
  return list.length > 0 && list.every((s) => s.State === 'running');
}

export function isAllocationUp(alloc: AllocView, needsHealthy: boolean): boolean {
  return (
    alloc.DesiredStatus === 'run' &&
    alloc.ClientStatus === 'running' &&
    allTasksRunning(alloc.TaskStates) &&
    (!needsHealthy || alloc.DeploymentStatus?.Healthy === true)
  );
}

function taskFailureReason(alloc: AllocView): string {
  for (const [task, state] of Object.entries(alloc.TaskStates ?? {})) {
    const events = state.Events ?? [];
    // `Not Restarting` only says the restart policy gave up; the event before it says why.
    const newestFirst = [...events].reverse();
    const failing =
      newestFirst.find((e) => e.DriverError) ?? newestFirst.find((e) => e.FailsTask && e.Type !== 'Not Restarting') ?? newestFirst[0];
    if (state.Failed && failing) return `task ${task}: ${failing.DisplayMessage || failing.DriverError || failing.Type}`;
  }
  return alloc.ClientDescription || `allocation ${alloc.ClientStatus}`;
}

export function describeFailedPlacement(failed: Record<string, AllocationMetric>): string {
  return Object.entries(failed)
    .map(([group, m]) => {
      const causes = [
        ...Object.keys(m.ConstraintFiltered ?? {}),
        ...Object.keys(m.ClassFiltered ?? {}),
        ...Object.keys(m.DimensionExhausted ?? {}).map((d) => `exhausted ${d}`),
        ...(m.QuotaExhausted ?? []),
      ];
      return `group ${group}: ${causes.length ? causes.join(', ') : 'no node could run it'}`;
    })
    .join('; ');
}

/**
 * Decides whether a space's job is up, still starting, or will not come up. Pure: the caller polls
 * Nomad (job, its allocations, and optionally its evaluations) and asks again.
 *
 * Only allocations of the job's current version count when the job carries a Version, so a stopped
 * allocation of a previous run cannot make a fresh start look failed.
 */
export function spaceAllocationStatus(job: JobView, allocs: AllocView[], evals: Evaluation[] = []): SpaceAllocationStatus {
  const needsHealthy = jobUsesDeployments(job);
  const current = allocs.filter(
    (a) => job.Version === undefined || job.Version === null || a.JobVersion === undefined || a.JobVersion === job.Version,
  );

  const up = current.find((a) => isAllocationUp(a, needsHealthy));
  if (up) return { state: 'up', allocId: up.ID };

  const wanted = current.filter((a) => a.DesiredStatus === 'run');
  const broken = wanted.find((a) => a.ClientStatus === 'failed' || a.ClientStatus === 'lost');
  if (broken) return { state: 'failed', allocId: broken.ID, reason: taskFailureReason(broken) };
  const unhealthy = wanted.find((a) => a.DeploymentStatus?.Healthy === false);
  if (unhealthy) return { state: 'failed', allocId: unhealthy.ID, reason: 'allocation marked unhealthy by its deployment' };

  const live = wanted.filter((a) => !TERMINAL.has(a.ClientStatus));
  if (live.length === 0) {
    const newestFirst = [...evals].sort((a, b) => b.CreateIndex - a.CreateIndex);
    const newest = newestFirst[0];
    const failing = newestFirst.find((e) => e.FailedTGAllocs && Object.keys(e.FailedTGAllocs).length > 0);
    // A blocked eval means Nomad is still waiting for capacity; the eval that blocked says why.
    const stillFailing = newest && (newest.Status === 'blocked' || newest === failing);
    if (stillFailing) {
      const reason = failing?.FailedTGAllocs ? describeFailedPlacement(failing.FailedTGAllocs) : 'evaluation blocked: no node can run the job';
      return { state: 'placement_failed', reason };
    }
    return { state: 'starting', reason: 'no allocation placed yet' };
  }

  const first = live[0];
  if (first?.ClientStatus === 'running' && allTasksRunning(first.TaskStates)) {
    return { state: 'starting', reason: 'tasks running, waiting for the deployment to mark the allocation healthy' };
  }
  return { state: 'starting', reason: `allocation ${first?.ClientStatus ?? 'pending'}` };
}

/** True when no allocation can still run (Nomad's client-terminal statuses). An empty list is terminal. */
export function allAllocationsTerminal(allocs: Pick<AllocListStub, 'ClientStatus'>[]): boolean {
  return allocs.every((a) => TERMINAL.has(a.ClientStatus));
}
