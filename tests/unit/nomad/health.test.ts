import { allAllocationsTerminal, jobUsesDeployments, spaceAllocationStatus } from '../../../nomad/health';
import type { TaskGroup, UpdateStrategy } from '../../../nomad/types';
import type { AllocListStub, Evaluation, Job, TaskState } from '../../../nomad/types';

const running: TaskState = { State: 'running', Failed: false, Restarts: 0, StartedAt: 'now', FinishedAt: null, Events: [] };
const pendingTask: TaskState = { ...running, State: 'pending', StartedAt: null };
const failedTask: TaskState = {
  ...running,
  State: 'dead',
  Failed: true,
  Events: [{ Type: 'Driver Failure', Time: 1, DisplayMessage: 'image not found', FailsTask: true }],
};

function alloc(over: Partial<AllocListStub>): AllocListStub {
  return {
    ID: 'a1', EvalID: 'e1', Name: 'j.g[0]', Namespace: 'default', NodeID: 'n', NodeName: 'n', JobID: 'j', JobType: 'service',
    JobVersion: 0, TaskGroup: 'g', DesiredStatus: 'run', DesiredDescription: '', ClientStatus: 'running', ClientDescription: '',
    TaskStates: { ide: running }, DeploymentStatus: { Healthy: true, Timestamp: '', Canary: false, ModifyIndex: 1 },
    FollowupEvalID: '', CreateIndex: 1, ModifyIndex: 1, CreateTime: 0, ModifyTime: 0,
    ...over,
  };
}

function evaluation(over: Partial<Evaluation>): Evaluation {
  return {
    ID: 'e', Namespace: 'default', Priority: 50, Type: 'service', TriggeredBy: 'job-register', JobID: 'j', JobModifyIndex: 1,
    Status: 'complete', StatusDescription: '', BlockedEval: '', PreviousEval: '', FailedTGAllocs: null, QueuedAllocations: null,
    CreateIndex: 1, ModifyIndex: 1, CreateTime: 0, ModifyTime: 0,
    ...over,
  };
}

const service: Job = { ID: 'j', Type: 'service', Version: 0 };
const batch: Job = { ID: 'j', Type: 'batch', Version: 0 };
const missingVolume = {
  space: {
    NodesEvaluated: 1, NodesFiltered: 1, NodesInPool: 1, NodesAvailable: { dc1: 1 }, ClassFiltered: null,
    ConstraintFiltered: { 'missing CSI Volume v1': 1 }, NodesExhausted: 0, ClassExhausted: null, DimensionExhausted: null,
    QuotaExhausted: null, CoalescedFailures: 0, AllocationTime: 1,
  },
};

describe('spaceAllocationStatus', () => {
  it.each<[string, Job, AllocListStub[], Evaluation[], string]>([
    ['healthy running alloc', service, [alloc({})], [], 'up'],
    ['running but not yet healthy (service job)', service, [alloc({ DeploymentStatus: null })], [], 'starting'],
    ['batch job without update block needs no health', batch, [alloc({ DeploymentStatus: null })], [], 'up'],
    ['healthy false → failed', service, [alloc({ DeploymentStatus: { Healthy: false, Timestamp: '', Canary: false, ModifyIndex: 1 } })], [], 'failed'],
    ['pending alloc', service, [alloc({ ClientStatus: 'pending', TaskStates: { ide: pendingTask }, DeploymentStatus: null })], [], 'starting'],
    ['one task still pending', service, [alloc({ TaskStates: { ide: running, side: pendingTask } })], [], 'starting'],
    ['desired stop does not count as up', service, [alloc({ DesiredStatus: 'stop' })], [], 'starting'],
    ['failed alloc', service, [alloc({ ClientStatus: 'failed', TaskStates: { ide: failedTask }, DeploymentStatus: null })], [], 'failed'],
    ['lost alloc', service, [alloc({ ClientStatus: 'lost', DeploymentStatus: null })], [], 'failed'],
    ['no alloc, no eval yet', service, [], [], 'starting'],
    ['no alloc, eval with FailedTGAllocs', service, [], [evaluation({ FailedTGAllocs: missingVolume, BlockedEval: 'b' })], 'placement_failed'],
    ['no alloc, blocked eval newest', service, [], [evaluation({ FailedTGAllocs: missingVolume }), evaluation({ ID: 'b', Status: 'blocked', CreateIndex: 2 })], 'placement_failed'],
    ['old failure superseded by a newer clean eval', service, [], [evaluation({ FailedTGAllocs: missingVolume }), evaluation({ ID: 'n', CreateIndex: 3 })], 'starting'],
    ['stale failed alloc of an older version is ignored', { ...service, Version: 1 }, [alloc({ ClientStatus: 'failed', JobVersion: 0 }), alloc({ ID: 'a2', JobVersion: 1 })], [], 'up'],
  ])('%s → %s', (_name, job, allocs, evals, state) => {
    expect(spaceAllocationStatus(job, allocs, evals).state).toBe(state);
  });

  it('explains failures', () => {
    expect(spaceAllocationStatus(service, [], [evaluation({ FailedTGAllocs: missingVolume })])).toEqual({
      state: 'placement_failed',
      reason: 'group space: missing CSI Volume v1',
    });
    const failed = spaceAllocationStatus(service, [alloc({ ClientStatus: 'failed', TaskStates: { ide: failedTask } })]);
    expect(failed).toEqual({ state: 'failed', allocId: 'a1', reason: 'task ide: image not found' });
  });
});

describe('allAllocationsTerminal', () => {
  it.each<[string, AllocListStub['ClientStatus'][], boolean]>([
    ['none', [], true],
    ['complete + failed + lost', ['complete', 'failed', 'lost'], true],
    ['one running', ['complete', 'running'], false],
    ['one pending', ['pending'], false],
    ['unknown is not terminal', ['unknown'], false],
  ])('%s → %s', (_name, statuses, expected) => {
    expect(allAllocationsTerminal(statuses.map((s) => alloc({ ClientStatus: s })))).toBe(expected);
  });
});

describe('jobUsesDeployments: readiness follows what Nomad reports for each job type', () => {
  // what a real 1.6.5 agent answers in GET /v1/job/:id for every job, batch included
  const zeroUpdate: UpdateStrategy = { Stagger: 0, MaxParallel: 0, HealthCheck: '', MinHealthyTime: 0, HealthyDeadline: 0, ProgressDeadline: 0, Canary: 0, AutoRevert: false, AutoPromote: false };
  const canonicalGroupUpdate: UpdateStrategy = { ...zeroUpdate, Stagger: 30e9, MaxParallel: 1, HealthCheck: 'checks', MinHealthyTime: 10e9, HealthyDeadline: 300e9, ProgressDeadline: 600e9 };
  const group = (update: UpdateStrategy | null): TaskGroup => ({ Name: 'g', Count: 1, Tasks: [], Update: update });
  it.each<[string, Job, boolean]>([
    ['batch job with the zero-valued Update real Nomad returns', { ID: 'j', Type: 'batch', Update: zeroUpdate, TaskGroups: [group(null)] }, false],
    ['sysbatch job', { ID: 'j', Type: 'sysbatch', Update: zeroUpdate, TaskGroups: [group(null)] }, false],
    ['service job as real Nomad returns it (group strategy canonicalized)', { ID: 'j', Type: 'service', Update: zeroUpdate, TaskGroups: [group(canonicalGroupUpdate)] }, true],
    ['service job with max_parallel = 0 (deployments disabled)', { ID: 'j', Type: 'service', Update: zeroUpdate, TaskGroups: [group({ ...canonicalGroupUpdate, MaxParallel: 0 })] }, false],
    ['parsed service job without an update block (Nomad default applies)', { ID: 'j', Type: 'service', Update: null, TaskGroups: [group(null)] }, true],
    ['job without a type is a service job', { ID: 'j', TaskGroups: [group(null)] }, true],
  ])('%s → %s', (_, job, expected) => {
    expect(jobUsesDeployments(job)).toBe(expected);
  });

  it('a batch allocation is up once its tasks run, without deployment health (it never gets one)', () => {
    const job: Job = { ID: 'j', Type: 'batch', Version: 0, Update: zeroUpdate, TaskGroups: [group(null)] };
    expect(spaceAllocationStatus(job, [alloc({ JobType: 'batch', DeploymentStatus: null })])).toEqual({ state: 'up', allocId: 'a1' });
  });

  it('a service allocation still waits for the deployment to mark it healthy', () => {
    const job: Job = { ID: 'j', Type: 'service', Version: 0, Update: zeroUpdate, TaskGroups: [group(canonicalGroupUpdate)] };
    expect(spaceAllocationStatus(job, [alloc({ DeploymentStatus: null })]).state).toBe('starting');
  });
});
