/**
 * Nomad job activities: register, wait until really running, deregister, wait until stopped.
 * Check-then-act so a retry after a crash does no harm.
 */
import { Context, CancelledFailure } from '@temporalio/activity';
import { heartbeat } from './context';
import { ErrorType, KnotError } from '../core/errors';
import type { StepRef } from '../core/events';
import { spaceAllocationStatus, allAllocationsTerminal } from '../nomad/health';
import { isNomadError, multierrorReasons } from '../nomad/errors';
import type { ActivityDeps } from './deps';
import { nonRetryable } from './failure';
import { KNOT_OPERATION_META, KNOT_SPACE_META, KNOT_VERSION_META } from '../nomad/meta';
import { claimDrainingReason, csiVolumeIdsOfJob } from '../nomad/volume-claims';
import { renderSpace } from './render-space';
import { cutOffAgent, forgetAgentLink, injectAgentToken, mintStartToken } from './agent-access';

function cancellationSignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

async function pause(ms: number): Promise<void> {
  const signal = cancellationSignal();
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new CancelledFailure('activity cancelled'));
    }, { once: true });
  });
}

/** Whether this job is the one the operation registered for this space (whichever version). */
function registeredBy(job: { Meta?: Record<string, string> | null }, by: { spaceId: string; operationId?: string }): boolean {
  const meta = job.Meta ?? {};
  return meta[KNOT_SPACE_META] === by.spaceId && meta[KNOT_OPERATION_META] === by.operationId;
}

/** How long a registration waits for the job its operation registered under another version to stop. */
const REPLACED_JOB_STOP_MS = 60_000;

/** How long a start waits inside one try for a stopped allocation's volume claim to be released; how long it waits when Nomad's index did not move. */
const CLAIM_WAIT_MS = 8_000;
const CLAIM_POLL_MS = 200;

function startTimeout(lastState: string) {
  return nonRetryable(ErrorType.StartTimeout, `the space did not become healthy before the start timeout (last state: ${lastState})`);
}

/**
 * Nomad refuses an invalid job (memory below its minimum, an unknown namespace, ...) with a 500
 * holding a multierror; the template is at fault, so the start fails at once naming Nomad's reason
 * instead of retrying what can never succeed.
 */
function jobRejection(e: unknown, jobId: string): KnotError | null {
  if (!isNomadError(e)) return null;
  const reasons = multierrorReasons(e.nomadMessage);
  if (!reasons) return null;
  return new KnotError(ErrorType.JobRejected, `Nomad rejected job '${jobId}': ${reasons.join('; ')}`, {
    errors: reasons.map((message) => ({ path: 'job', message })),
    details: { jobId, nomadStatus: e.nomadStatus },
  });
}

/** Heartbeats must go out well within the 15 s heartbeat timeout. */
const BLOCKING_WAIT_MS = 5_000;
/**
 * While nothing of the job is placed: Nomad wakes an allocation query for allocation changes only
 * (its memdb watch), not for the evaluation that says why nothing was placed, so ask again soon.
 */
const UNPLACED_WAIT_MS = 1_000;

/**
 * A wait heartbeats only once it has lasted this long: most end sooner (a start's ~0.5 s to
 * healthy, a stop's ~0.1 s), and every heartbeat is a write for the Temporal server. A timer sends
 * the latest progress at 2 s, well inside the 15 s heartbeat timeout; from then on every loop
 * heartbeats (the SDK throttles them).
 */
const QUIET_WAIT_MS = 2_000;

function quietHeartbeats(): { beat(details: unknown): void; stop(): void } {
  // a local activity (a stop's first try, bounded by a deadline of seconds) has no heartbeat timeout
  if (Context.current().info.isLocal) return { beat: () => undefined, stop: () => undefined };
  let latest: unknown;
  let started = false;
  const timer = setTimeout(() => {
    started = true;
    heartbeat(latest);
  }, QUIET_WAIT_MS);
  return {
    beat(details) {
      latest = details;
      if (started) heartbeat(details);
    },
    stop: () => clearTimeout(timer),
  };
}

export function createNomadJobActivities(deps: ActivityDeps) {
  const poll = deps.pollIntervalMs ?? 100;

  const activities = {
    /**
     * Registers the space's job (meta knot_space_id) with a freshly minted agent token in its env.
     * Refuses to overwrite a job another owner has. The answer never carries the token.
     *
     * `operationId`, the start's own, goes into the job's meta too. A registration run again (a
     * retry, or its worker died before the workflow task recorded it) that finds the job this
     * operation registered, for the same version and not stopped, leaves it: registered again it
     * would carry another token, and Nomad would replace the starting allocation with one whose
     * mount races the old one's unmount (seen on Nomad 1.6, tests/nomad/chaos.test.ts). For
     * another version (the template changed before the start planned again) it stops that job
     * first, for the same reason, and then registers. `jobId` is the plan's: the space's recorded
     * job id cannot tell, since a restart's stop run again clears it after the registration.
     */
    async registerSpaceJob(input: { spaceId: string; version: string; operationId?: string; jobId?: string | null; step?: StepRef }): Promise<{ jobId: string }> {
      let known = input.operationId && input.jobId ? await deps.nomad.readJob(input.jobId) : undefined;
      if (input.jobId && known && !known.Stop && registeredBy(known, input)) {
        if (known.Meta?.[KNOT_VERSION_META] === input.version) {
          await deps.store.spaces.update(input.spaceId, { nomadJobId: input.jobId }, deps.clock());
          return { jobId: input.jobId };
        }
        await purgeSpaceJob({ spaceId: input.spaceId, jobId: input.jobId, deadline: deps.clock() + REPLACED_JOB_STOP_MS });
        known = undefined;
      }
      const token = await mintStartToken(deps, input.spaceId);
      const rendered = await renderSpace(deps, input.spaceId, input.version, { agentToken: token, only: 'job' });
      const job = rendered.job;
      if (!job || !rendered.jobId) throw nonRetryable(ErrorType.Validation, 'this template has no Nomad job');
      injectAgentToken(job, token);
      if (input.operationId) job.Meta = { ...(job.Meta ?? {}), [KNOT_OPERATION_META]: input.operationId };
      // read above when it is the plan's job and still as it was
      const current = known !== undefined && rendered.jobId === input.jobId ? known : await deps.nomad.readJob(rendered.jobId);
      const owner = current?.Meta?.[KNOT_SPACE_META];
      if (current && !current.Stop && owner !== input.spaceId) {
        throw nonRetryable(
          ErrorType.Conflict,
          owner ? `Nomad job '${rendered.jobId}' belongs to space ${owner}` : `Nomad job '${rendered.jobId}' exists and is not managed by knot`,
          { jobId: rendered.jobId },
        );
      }
      // a claim of a stopped allocation blocks another job's placement and races the same job's
      // mount (nomad/volume-claims.ts `claimDrainingReason`): wait here while old claims drain
      await waitWhileClaimsDrain(job);
      // remember the job before creating it, so compensation and cleanup can always find it
      await deps.store.spaces.update(input.spaceId, { nomadJobId: rendered.jobId }, deps.clock());
      // before the job exists, so no agent of this start can have linked yet
      await forgetAgentLink(deps, input.spaceId);
      try {
        await deps.nomad.registerJob(job);
      } catch (e) {
        throw jobRejection(e, rendered.jobId) ?? e;
      }
      return { jobId: rendered.jobId };
    },

    /**
     * Waits until an allocation is running and healthy (CONTRACT.md's definition), heartbeating.
     * Placement or allocation failure and the deadline are final: waiting longer will not help.
     */
    async waitForSpaceRunning(input: { jobId: string; deadline: number; step?: StepRef }): Promise<{ allocId: string }> {
      let lastState = 'not yet evaluated';
      // The deadline holds whatever Nomad does: a read that fails or hangs past it ends the wait
      // with StartTimeout (non-retryable, so the start compensates) instead of a retry for ever.
      const beforeDeadline = async <T>(read: () => Promise<T>): Promise<T> => {
        if (deps.clock() >= input.deadline) throw startTimeout(lastState);
        try {
          return await read();
        } catch (e) {
          if (deps.clock() >= input.deadline) throw startTimeout(`${lastState}; last Nomad error: ${(e as Error).message}`);
          throw e;
        }
      };
      const job = await beforeDeadline(() => deps.nomad.readJob(input.jobId));
      if (!job) throw nonRetryable(ErrorType.AllocationFailed, `Nomad job '${input.jobId}' disappeared while starting`);
      let index = 0;
      let placed = false;
      const beats = quietHeartbeats();
      try {
        for (;;) {
          // a blocking query answers the moment allocations change instead of on a polling tick
          const remaining = Math.max(1, input.deadline - deps.clock());
          const signal = cancellationSignal();
          const waitMs = Math.min(remaining, placed ? BLOCKING_WAIT_MS : UNPLACED_WAIT_MS);
          const watched = await beforeDeadline(() => deps.nomad.watchJobAllocations(input.jobId, index, waitMs, { signal, timeoutMs: Math.min(remaining, 10_000) }));
          index = watched.index;
          const allocs = watched.allocs;
          placed = allocs.some((a) => a.DesiredStatus === 'run');
          // evaluations only explain why nothing was placed; skip the call while allocations exist
          const evals = placed ? [] : await beforeDeadline(() => deps.nomad.jobEvaluations(input.jobId));
          const status = spaceAllocationStatus(job, allocs, evals);
          if (status.state === 'up') return { allocId: status.allocId };
          if (status.state === 'failed') throw nonRetryable(ErrorType.AllocationFailed, `allocation ${status.allocId.slice(0, 8)} failed: ${status.reason}`, { allocId: status.allocId });
          if (status.state === 'placement_failed') throw nonRetryable(ErrorType.PlacementFailed, `Nomad could not place the job: ${status.reason}`);
          lastState = status.reason;
          beats.beat({ reason: status.reason });
          // without an index (a Nomad that does not block) fall back to polling
          if (index === 0) await pause(poll);
        }
      } finally {
        beats.stop();
      }
    },

    /**
     * Purges the space's job (if it is this space's, or unknown) and waits, heartbeating, until the
     * allocations that were live are terminal; then, the job gone, revokes the start token it ran
     * with and marks the agent's link down. One activity: a stop is one step, not two.
     */
    async stopSpaceJob(input: { spaceId: string; jobId: string | null; deadline: number; step?: StepRef }): Promise<{ stopped: number }> {
      const result = await purgeSpaceJob(input);
      await cutOffAgent(deps, input.spaceId, 'start');
      return result;
    },
  };

  /**
   * Returns once no volume the job needs is held by a stopped allocation. Nomad releases such a
   * claim within a second or two of the stop: a blocking query on the volume answers the moment its
   * claims change, for up to CLAIM_WAIT_MS; past that a retryable NomadVolumeInUse leaves the rest
   * to the step's retries.
   */
  async function waitWhileClaimsDrain(job: Parameters<typeof csiVolumeIdsOfJob>[0]): Promise<void> {
    const until = Date.now() + CLAIM_WAIT_MS;
    for (const id of csiVolumeIdsOfJob(job)) {
      let index = 0;
      for (;;) {
        const remaining = until - Date.now();
        const signal = cancellationSignal();
        const watched = await deps.nomad.watchCsiVolume(id, index, Math.max(1, remaining), { signal });
        const reason = claimDrainingReason(watched.volume);
        if (!reason) break;
        if (Date.now() >= until) throw new KnotError(ErrorType.NomadVolumeInUse, `CSI volume ${id} is ${reason}`, { retryable: true });
        // an index that did not move would answer at once again: look a moment later instead
        if (watched.index <= index) await pause(CLAIM_POLL_MS);
        index = watched.index;
      }
    }
  }

  /** The stop itself: purge the job and wait until its allocations are terminal. */
  async function purgeSpaceJob(input: { spaceId: string; jobId: string | null; deadline: number }): Promise<{ stopped: number }> {
    const jobId = input.jobId ?? (await deps.store.spaces.require(input.spaceId)).nomadJobId;
    if (!jobId) return { stopped: 0 };
    const job = await deps.nomad.readJob(jobId);
    const owner = job?.Meta?.[KNOT_SPACE_META];
    // someone else's job now carries this id: never touch it
    if (job && owner && owner !== input.spaceId) return { stopped: 0 };
    const before = await deps.nomad.jobAllocations(jobId);
    const waitingFor = new Set(before.filter((a) => !allAllocationsTerminal([a])).map((a) => a.ID));
    await deps.nomad.deregisterJob(jobId, { purge: true });
    let index = 0;
    const beats = quietHeartbeats();
    try {
      while (waitingFor.size > 0) {
        const remaining = input.deadline - deps.clock();
        if (remaining <= 0) {
          throw new KnotError(ErrorType.NomadUnavailable, `allocations still running after deregistering: ${[...waitingFor].join(', ')}`, { retryable: false });
        }
        const signal = cancellationSignal();
        const watched = await deps.nomad
          .watchJobAllocations(jobId, index, Math.min(remaining, BLOCKING_WAIT_MS), { signal, timeoutMs: Math.min(remaining, 10_000) })
          .catch((e: unknown) => {
            if (deps.clock() >= input.deadline) throw new KnotError(ErrorType.NomadUnavailable, `allocations not confirmed stopped before the deadline: ${(e as Error).message}`, { retryable: false });
            throw e;
          });
        index = watched.index;
        const live = new Set(watched.allocs.filter((a) => !allAllocationsTerminal([a])).map((a) => a.ID));
        // an allocation Nomad no longer lists has been garbage-collected: terminal too
        for (const id of [...waitingFor]) if (!live.has(id)) waitingFor.delete(id);
        beats.beat({ pending: waitingFor.size });
        if (index === 0 && waitingFor.size > 0) await pause(poll);
      }
    } finally {
      beats.stop();
    }
    return { stopped: before.length };
  }

  return activities;
}

export type NomadJobActivities = ReturnType<typeof createNomadJobActivities>;
