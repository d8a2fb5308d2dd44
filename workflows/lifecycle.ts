/**
 * Space lifecycle workflows. One workflow id per space (`space-<id>`), so only one operation runs
 * on a space at a time. Each reads top to bottom as the business process; irreversible steps
 * (deleting volumes the template dropped) come last, after the space is up.
 */
import { ActivityFailure, ApplicationFailure, defineQuery, setHandler, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import { ErrorType, NON_RETRYABLE_TYPES } from '../core/errors';
import { FailureReason, PROGRESS_QUERY, agentUrlProblem, failureReason, type BeginAnswer, type CreateSpaceInput, type FailureReasonName, type LifecycleInput, type LifecycleResult, type OperationProgress } from '../core/lifecycle';
import type { StepRef } from '../core/events';
import { agent, cleanup, nomad, nomadSteps, stopFirstTry, store, volumeDelete, volumeDeleteSteps, waitFirstTry, waits } from './activities';
import { summarizeFailure, type FailureSummary } from './failures';
import { Saga } from './saga';

/** What step the operation is at; clients query it through temporal/workflows.ts `progressQuery`. */
export const progressQuery = defineQuery<OperationProgress, [], typeof PROGRESS_QUERY>(PROGRESS_QUERY);

const STOP_WAIT_MS = 5 * 60_000;

/**
 * Volume creation, job registration and volume deletion run as local activities (the why is at
 * `nomadSteps` in workflows/activities.ts). Asked at each call: a run that scheduled these steps as
 * activities replays them so, and only steps it has not reached yet run locally.
 */
const LOCAL_NOMAD_STEPS = 'nomad-steps-local';
const forwardSteps = () => (patched(LOCAL_NOMAD_STEPS) ? nomadSteps : nomad);
const volumeDeletes = () => (patched(LOCAL_NOMAD_STEPS) ? volumeDeleteSteps : volumeDelete);

/**
 * Stopping a job tries first as a local activity under a short deadline (`stopFirstTry` in
 * workflows/activities.ts says why); asked where a job is stopped, so a run that went straight to
 * the heartbeating wait replays so.
 */
const LOCAL_STOP = 'stop-job-local';
/**
 * The first try's deadline: a purge settles in well under a second on the sandbox, 1–3 s on a real
 * Nomad. Under the SDK's 5 s mark for a workflow task, so a fallback does not log a slow task.
 */
const STOP_FIRST_TRY_MS = 4_000;

/**
 * Purges the job (the space's recorded one when `jobId` is null) and waits until its allocations
 * are terminal, within STOP_WAIT_MS from here; then revokes the start token and cuts the agent's
 * link. One step record whichever way it goes: the heartbeating wait reopens nothing the first try
 * opened, and closes it. Both deadlines are computed here, in workflow time (`Date.now()` is the
 * workflow task's time, the same on replay).
 */
async function stopJob(input: { spaceId: string; jobId: string | null; step: StepRef }): Promise<void> {
  const deadline = Date.now() + STOP_WAIT_MS;
  if (patched(LOCAL_STOP)) {
    try {
      await stopFirstTry.stopSpaceJob({ ...input, deadline: Math.min(deadline, Date.now() + STOP_FIRST_TRY_MS) });
      return;
    } catch (e) {
      if (isCancellation(e)) throw e;
      // not terminal yet (or Nomad or the store did not answer): the heartbeating wait takes over
    }
  }
  await waits(STOP_WAIT_MS + 60_000).stopSpaceJob({ ...input, deadline });
}

/**
 * A start's wait until the job is really running tries first as a local activity under a short
 * deadline (`waitFirstTry` in workflows/activities.ts says why); asked where the wait begins, so a
 * run that went straight to the heartbeating wait replays so.
 */
const LOCAL_START_WAIT = 'start-wait-local';
/** The first try's deadline: as a stop's (STOP_FIRST_TRY_MS), under the SDK's 5 s slow-task mark. */
const START_WAIT_FIRST_TRY_MS = 4_000;

/**
 * Waits until the job has a healthy allocation, within `timeoutMs` from here. One step record
 * whichever way it goes (the heartbeating wait reopens nothing the first try opened, and closes it).
 * A final verdict of the first try (the allocation failed, no placement, a bad job, or the start
 * timeout itself when it fell within the try) is the start's verdict, as the heartbeating wait would
 * have given it; the try's own shorter deadline, a Nomad or store error, anything retryable hands
 * over to the heartbeating wait with the full deadline. `Date.now()` is the workflow task's time
 * (the same on replay), so the try ends within a few seconds of the task's start.
 */
async function waitUntilRunning(input: { jobId: string; timeoutMs: number; step: StepRef }): Promise<void> {
  const deadline = Date.now() + input.timeoutMs;
  if (patched(LOCAL_START_WAIT)) {
    const tryDeadline = Math.min(deadline, Date.now() + START_WAIT_FIRST_TRY_MS);
    try {
      await waitFirstTry.waitForSpaceRunning({ jobId: input.jobId, step: input.step, deadline: tryDeadline });
      return;
    } catch (e) {
      if (isCancellation(e) || isFinalVerdict(e, tryDeadline >= deadline)) throw e;
      // not healthy yet (or Nomad or the store did not answer): the heartbeating wait takes over
    }
  }
  await waits(input.timeoutMs + 60_000).waitForSpaceRunning({ jobId: input.jobId, step: input.step, deadline });
}

/** A failure retrying cannot change; the start timeout only when the try ran to the start's own deadline. */
function isFinalVerdict(e: unknown, hadFullDeadline: boolean): boolean {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (!(cause instanceof ApplicationFailure)) return false;
  if (cause.type === ErrorType.StartTimeout) return hadFullDeadline;
  return cause.nonRetryable || NON_RETRYABLE_TYPES.includes(cause.type as (typeof NON_RETRYABLE_TYPES)[number]);
}

/**
 * The current step, for the progress query and for the step records: `at(name)` names the step the
 * next activity performs, which records it (start, end, outcome) as part of its own work.
 */
class Progress {
  step = 'queued';
  private closeOpenAs: StepRef['closeOpenAs'] = 'failed';
  constructor(private readonly input: { operationId: string; spaceId: string; type: LifecycleInput['type'] }) {
    setHandler(progressQuery, () => ({ operationId: this.input.operationId, type: this.input.type, step: this.step }));
  }

  at(name: string): StepRef {
    this.step = name;
    return { operationId: this.input.operationId, spaceId: this.input.spaceId, name, closeOpenAs: this.closeOpenAs };
  }

  /** A compensation's step record; the progress query keeps answering `compensating` meanwhile. */
  undo(name: string): StepRef {
    return { operationId: this.input.operationId, spaceId: this.input.spaceId, name: `compensating: ${name}`, closeOpenAs: this.closeOpenAs };
  }

  /** From here on the step that was interrupted is closed as failed, or cancelled when the run was. */
  compensating(cause: unknown): void {
    this.step = 'compensating';
    this.closeOpenAs = isCancellation(cause) ? 'cancelled' : 'failed';
  }
}

interface StartOutcome {
  warnings: string[];
  /** the operation was finished together with the last record (nothing irreversible was left) */
  finished: boolean;
}

/** Starts the space: volumes, job, wait until healthy; compensates on failure. */
async function runStart(input: LifecycleInput, progress: Progress): Promise<StartOutcome> {
  const plan = await store.prepareStart({ spaceId: input.spaceId, operationId: input.operationId, step: progress.at('planning') });

  if (plan.kind === 'manual') {
    const problem = agentUrlProblem('manual', plan.agentUrl);
    if (problem || !plan.agentUrl) throw ApplicationFailure.create({ type: ErrorType.Validation, message: `agentUrl ${problem}`, nonRetryable: true });
    await agent.pingAgent({ agentUrl: plan.agentUrl, step: progress.at('contacting agent') });
    await store.completeStart({ spaceId: input.spaceId, version: plan.version, hash: plan.hash, jobId: null, finishOperationId: input.operationId, step: progress.at('recording') });
    return { warnings: [], finished: true };
  }

  const saga = new Saga();
  try {
    for (const v of plan.createVolumes) {
      const step = progress.at(`creating volume ${v.id}`);
      // registered first: a crash after Nomad created the volume must still be compensated
      saga.add(`delete volume ${v.id}`, () =>
        cleanup.deleteSpaceVolume({ spaceId: input.spaceId, volumeId: v.id, onlyIfCreatedBy: input.operationId, step: progress.undo(`deleting volume ${v.id}`) }),
      );
      await forwardSteps().createSpaceVolume({ spaceId: input.spaceId, operationId: input.operationId, version: plan.version, volumeId: v.id, step });
    }
    const registering = progress.at('registering job');
    saga.add('stop job', () => stopJob({ spaceId: input.spaceId, jobId: plan.jobId, step: progress.undo('stopping the job') }));
    const { jobId } = await forwardSteps().registerSpaceJob({ spaceId: input.spaceId, version: plan.version, operationId: input.operationId, jobId: plan.jobId, step: registering });
    await waitUntilRunning({ jobId, timeoutMs: plan.startTimeoutMs, step: progress.at('waiting for the allocation to be healthy') });
  } catch (e) {
    progress.compensating(e);
    const failedSteps = await saga.compensate();
    if (failedSteps.length > 0) {
      throw new CompensationIncomplete(summarizeFailure(e), failedSteps);
    }
    throw e;
  }

  // nothing irreversible left: record and finish in one step
  const finishNow = plan.removeVolumes.length === 0;
  await store.completeStart({ spaceId: input.spaceId, version: plan.version, hash: plan.hash, jobId: plan.jobId, ...(finishNow ? { finishOperationId: input.operationId } : {}), step: progress.at('recording') });
  if (finishNow) return { warnings: [], finished: true };

  const warnings: string[] = [];
  for (const v of plan.removeVolumes) {
    try {
      await volumeDeletes().deleteSpaceVolume({ spaceId: input.spaceId, volumeId: v.id, step: progress.at(`deleting removed volume ${v.id}`) });
    } catch (e) {
      warnings.push(`volume ${v.id} was removed from the template but could not be deleted yet: ${summarizeFailure(e).message}`);
    }
  }
  return { warnings, finished: false };
}

class CompensationIncomplete extends Error {
  constructor(
    readonly original: FailureSummary,
    readonly steps: string[],
  ) {
    super(`${original.message}; compensation incomplete: ${steps.join(', ')}`);
    this.name = FailureReason.CompensationIncomplete;
  }
}

/** Purges the job and waits for its allocations to stop; volumes stay. */
async function runStop(input: LifecycleInput, progress: Progress, finish: boolean): Promise<void> {
  await stopJob({ spaceId: input.spaceId, jobId: null, step: progress.at('stopping the job') });
  await store.completeStop({ spaceId: input.spaceId, ...(finish ? { finishOperationId: input.operationId } : {}) });
}

/**
 * What a failed run leaves behind: `phase` null keeps the space's phase (the run failed before it
 * changed anything), otherwise the phase to record with the reason.
 */
interface FailurePolicy {
  phase: 'stopped' | 'failed' | 'running' | null;
  reason: FailureReasonName;
}

/**
 * Runs an operation's body; whatever ends it (a failure, a cancellation at any point) is recorded
 * on the operation and the space in a non-cancellable scope, then the workflow fails with the
 * original failure so operators see it in the Temporal UI.
 */
async function runOperation(input: LifecycleInput, policy: FailurePolicy, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  try {
    return await body();
  } catch (e) {
    // recorded already, by the run that finished it
    if (e instanceof FinishedEarlier) throw ApplicationFailure.create({ type: e.type, message: e.message, nonRetryable: true });
    const incomplete = e instanceof CompensationIncomplete ? e : null;
    const summary = incomplete ? incomplete.original : summarizeFailure(e);
    const message = incomplete ? incomplete.message : summary.message;
    await CancellationScope.nonCancellable(async () => {
      if (incomplete) {
        await store.setSpacePhase({ spaceId: input.spaceId, phase: 'failed', reason: FailureReason.CompensationIncomplete, message });
      } else if (policy.phase) {
        await store.setSpacePhase({ spaceId: input.spaceId, phase: policy.phase, reason: failureReason(policy.reason, summary.type), message });
      }
      await store.finishOperation({ operationId: input.operationId, spaceId: input.spaceId, status: summary.cancelled ? 'cancelled' : 'failed', errorType: summary.type, errorMessage: message });
    });
    throw asWorkflowFailure(e, summary);
  }
}

type BeginOptions = Pick<Parameters<typeof store.beginOperation>[0], 'phase' | 'unlessPhase' | 'requireStopped'>;

/**
 * Begins the operation (activities/space-records.ts `beginOperation`). `ended` is set when the
 * begin ran again for an operation an earlier run of the same workflow task had finished (its
 * worker died before the task was recorded): nothing is left to do, so the run returns `ended`
 * (or `begin` throws how it failed) and touches nothing. No patch needed: runs recorded before
 * `finished` existed replay answers without it, and so take the same path as before.
 */
async function begin(input: { operationId: string; spaceId: string }, opts: BeginOptions = {}): Promise<{ begun: BeginAnswer; ended: LifecycleResult | null }> {
  const begun = await store.beginOperation({ operationId: input.operationId, spaceId: input.spaceId, ...opts });
  return { begun, ended: endedEarlier(input, begun) };
}

function endedEarlier(input: { operationId: string; spaceId: string }, begun: BeginAnswer): LifecycleResult | null {
  const f = begun.finished;
  if (!f) return null;
  if (f.status === 'succeeded') return { spaceId: input.spaceId, operationId: input.operationId, phase: begun.phase ?? 'deleted' };
  throw new FinishedEarlier(f.errorType ?? f.status, f.errorMessage ?? `operation ${input.operationId} ended ${f.status}`);
}

class FinishedEarlier extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'FinishedEarlier';
  }
}

/** Only Temporal failures fail a workflow; anything else would fail the task and retry forever. */
function asWorkflowFailure(e: unknown, summary: FailureSummary): unknown {
  if (isCancellation(e)) return e;
  if (e instanceof CompensationIncomplete) {
    return ApplicationFailure.create({ type: ErrorType.CompensationIncomplete, message: e.message, nonRetryable: true });
  }
  if (e instanceof ApplicationFailure || (e as { failure?: unknown })?.constructor?.name?.endsWith('Failure')) return e;
  return ApplicationFailure.create({ type: summary.type, message: summary.message, nonRetryable: true });
}

async function succeed(input: LifecycleInput, phase: string, outcome: StartOutcome = { warnings: [], finished: false }): Promise<LifecycleResult> {
  if (!outcome.finished) {
    if (outcome.warnings.length > 0) {
      await store.setSpacePhase({ spaceId: input.spaceId, phase: 'running', reason: FailureReason.VolumeCleanupPending, message: outcome.warnings.join('; ') });
    }
    await store.finishOperation({ operationId: input.operationId, spaceId: input.spaceId, status: 'succeeded' });
  }
  return { spaceId: input.spaceId, operationId: input.operationId, phase };
}

export async function createSpaceWorkflow(input: CreateSpaceInput): Promise<LifecycleResult> {
  const progress = new Progress({ operationId: input.operationId, spaceId: input.spaceId, type: 'create' });
  const asLifecycle: LifecycleInput = { spaceId: input.spaceId, operationId: input.operationId, type: 'create', requestedBy: input.requestedBy };
  return runOperation(asLifecycle, { phase: null, reason: FailureReason.CreateFailed }, async () => {
    const { ended } = await begin(input);
    if (ended) return ended;
    await store.createSpaceRecord({ ...input, step: progress.at('validating') });
    return succeed(asLifecycle, 'stopped');
  });
}

export async function startSpaceWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const progress = new Progress(input);
  const policy: FailurePolicy = { phase: null, reason: FailureReason.StartFailed };
  return runOperation(input, policy, async () => {
    const { begun, ended } = await begin(input, { phase: 'starting', unlessPhase: 'running' });
    if (ended) return ended;
    if (begun.phase === 'running') return succeed(input, 'running');
    policy.phase = 'stopped';
    return succeed(input, 'running', await runStart(input, progress));
  });
}

export async function stopSpaceWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const progress = new Progress(input);
  return runOperation(input, { phase: 'failed', reason: FailureReason.StopFailed }, async () => {
    const { ended } = await begin(input, { phase: 'stopping' });
    if (ended) return ended;
    await runStop(input, progress, true);
    return { spaceId: input.spaceId, operationId: input.operationId, phase: 'stopped' };
  });
}

/** Applies a spec or template change; a running space is stopped and started again. */
export async function updateSpaceWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const progress = new Progress(input);
  const policy: FailurePolicy = { phase: null, reason: FailureReason.UpdateRejected };
  return runOperation(input, policy, async () => {
    const { begun, ended } = await begin(input);
    if (ended) return ended;
    const { phase } = begun;
    if (input.spec) {
      await store.applySpecChange({ spaceId: input.spaceId, spec: input.spec, step: progress.at('applying spec') });
    }
    if (phase !== 'running') return succeed(input, phase ?? 'stopped');
    return restartRunning(input, progress, policy);
  });
}

export async function restartSpaceWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const progress = new Progress(input);
  const policy: FailurePolicy = { phase: null, reason: FailureReason.StartFailed };
  return runOperation(input, policy, async () => {
    const { begun, ended } = await begin(input);
    if (ended) return ended;
    if (begun.phase === 'running') return restartRunning(input, progress, policy);
    policy.phase = 'stopped';
    await store.setSpacePhase({ spaceId: input.spaceId, phase: 'starting' });
    return succeed(input, 'running', await runStart(input, progress));
  });
}

async function restartRunning(input: LifecycleInput, progress: Progress, policy: FailurePolicy): Promise<LifecycleResult> {
  policy.phase = 'failed';
  policy.reason = FailureReason.StopFailed;
  await store.setSpacePhase({ spaceId: input.spaceId, phase: 'stopping' });
  await runStop(input, progress, false);
  policy.phase = 'stopped';
  policy.reason = FailureReason.StartFailed;
  await store.setSpacePhase({ spaceId: input.spaceId, phase: 'starting' });
  return succeed(input, 'running', await runStart(input, progress));
}

/** Only a stopped space: no job may remain, every volume and its data is removed, the name is freed. */
export async function deleteSpaceWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const progress = new Progress(input);
  const policy: FailurePolicy = { phase: null, reason: FailureReason.DeleteFailed };
  return runOperation(input, policy, async () => {
    const { begun, ended } = await begin(input, { phase: 'deleting', requireStopped: true });
    if (ended) return ended;
    const jobId = begun.jobId;
    policy.phase = 'stopped';
    // a stopped space has usually no job left: then making sure is a store read and revoking its
    // tokens, quick enough to run locally; a job left behind is stopped as a stop does (`stopJob`)
    const step = progress.at('making sure no job remains');
    if (jobId === null && patched(LOCAL_NOMAD_STEPS)) {
      await nomadSteps.stopSpaceJob({ spaceId: input.spaceId, jobId: null, deadline: Date.now() + STOP_WAIT_MS, step });
    } else {
      await stopJob({ spaceId: input.spaceId, jobId: null, step });
    }
    const snapshot = await store.spaceSnapshot({ spaceId: input.spaceId });
    for (const v of snapshot?.volumeIds ?? []) {
      await volumeDeletes().deleteSpaceVolume({ spaceId: input.spaceId, volumeId: v.id, step: progress.at(`deleting volume ${v.id}`) });
    }
    await store.markSpaceDeleted({ spaceId: input.spaceId, finishOperationId: input.operationId, step: progress.at('forgetting the space') });
    return { spaceId: input.spaceId, operationId: input.operationId, phase: 'deleted' };
  });
}
