/** Store-side lifecycle activities: operations, phases, applied state. All idempotent. */
import { Context } from '@temporalio/activity';
import { ErrorType, KnotError } from '../core/errors';
import { validateParameterValues, secretParameterNames, type ParameterDef } from '../core/parameters';
import { decryptSecret, encryptSecret, isEncrypted } from '../core/crypto';
import { planVolumes } from '../core/volumes';
import { parseDuration } from '../core/duration';
import type { StepRef } from '../core/events';
import { recordOperationFinished, recordOperationStarted } from './metrics';
import { newSpaceRecord, type EventFacts, type Space, type SpacePatch, type SpacePhase } from '../store/model';
import type { Repositories } from '../store/store';
import { ACTIVE_OPERATION_STATUSES, checkAgentUrl, requireDeletable, type BeginAnswer, type CreateSpaceInput, type SpaceSpecChange } from '../core/lifecycle';
import type { ActivityDeps } from './deps';
import { renderSpace, resolveSpaceVersion } from './render-space';
import { cutOffAgent } from './agent-access';

export interface StartPlan {
  kind: 'nomad' | 'manual';
  version: string;
  hash: string;
  jobId: string | null;
  createVolumes: { id: string; type: 'csi' | 'host' }[];
  removeVolumes: { id: string; type: 'csi' | 'host' }[];
  startTimeoutMs: number;
  agentUrl: string | null;
}

const DEFAULT_START_TIMEOUT_MS = 5 * 60_000;

function runIdOrEmpty(): string {
  return Context.current().info.workflowExecution?.runId ?? '';
}

/** Password values are stored encrypted; already-encrypted ones (from the API) pass through. */
function protectSecrets(defs: ParameterDef[], values: Record<string, string | number | boolean>, key: string): Record<string, string | number | boolean> {
  const out = { ...values };
  for (const name of secretParameterNames(defs)) {
    const v = out[name];
    if (typeof v === 'string' && v !== '' && !isEncrypted(v)) out[name] = encryptSecret(v, key);
  }
  return out;
}

export function createSpaceRecordActivities(deps: ActivityDeps) {
  const now = () => deps.clock();
  type Emit = (facts: EventFacts) => Promise<void>;

  /**
   * One bookkeeping step's writes and the events that announce them commit in one transaction
   * (one write on the lifecycle's path instead of several); pruning and metrics follow the commit.
   * `work` answers the operation it finished, if any.
   */
  async function commit(work: (tx: Repositories, emit: Emit) => Promise<string | null | void>): Promise<void> {
    const finished = await deps.store.transaction((tx) => work(tx, (facts) => tx.events.append(facts, now())));
    if (finished) await recordOperationFinished(deps.metrics, deps.store, finished);
  }

  const phaseEvent = (spaceId: string, operationId?: string): EventFacts => ({ type: 'space.phase', spaceId, ...(operationId ? { operationId } : {}) });

  /**
   * Ends the operation inside the caller's transaction: closes the step that finishes it and any
   * still open, records the outcome, and announces it (last). Answers the operation id when this
   * call is the one that finished it (retries and replays find it finished already).
   */
  async function endOperation(
    tx: Repositories,
    emit: Emit,
    spaceId: string | null,
    outcome: { operationId: string; status: 'succeeded' | 'failed' | 'cancelled'; errorType?: string; errorMessage?: string },
    step?: StepRef,
  ): Promise<string | null> {
    const t = now();
    if (step) {
      const durationMs = await tx.steps.finish(step.operationId, step.name, 'succeeded', t);
      if (durationMs !== null) await emit({ type: 'operation.step', spaceId: step.spaceId, operationId: step.operationId, step: step.name, stepStatus: 'succeeded', durationMs });
    }
    await tx.steps.closeOpen(outcome.operationId, outcome.status === 'succeeded' ? 'succeeded' : outcome.status, t, outcome.errorMessage?.slice(0, 1000));
    const moved = await tx.operations.finish(outcome.operationId, { status: outcome.status, errorType: outcome.errorType ?? null, errorMessage: outcome.errorMessage ?? null }, t);
    const space = spaceId ?? (await tx.operations.get(outcome.operationId))?.spaceId;
    // once per operation: a retry whose first try committed (its reply lost with the connection)
    // finds it finished, and its event was committed with it
    if (space && moved) {
      await emit({ type: 'operation.finished', spaceId: space, operationId: outcome.operationId, error: outcome.errorType ? { type: outcome.errorType, message: outcome.errorMessage ?? '' } : null });
    }
    return moved ? outcome.operationId : null;
  }

  return {
    /**
     * Marks the operation running and the space in its transitional phase; checks preconditions.
     * Answers the space's phase and job as the operation first began: this is a local activity,
     * and when its worker dies before the workflow task records the result it runs again, maybe
     * after the first run has moved the space on (an update that set it `stopping` would otherwise
     * find it not running and end at once). An operation the first run finished answers
     * `finished`, and the space is left as it is.
     */
    async beginOperation(input: {
      operationId: string;
      spaceId: string;
      phase?: SpacePhase;
      /** leave the phase alone when the space is already in this one (start of a running space) */
      unlessPhase?: SpacePhase;
      requireStopped?: boolean;
    }): Promise<BeginAnswer> {
      const space = await deps.store.spaces.get(input.spaceId);
      const began = space && !space.deletedAt ? { phase: space.phase, jobId: space.nomadJobId } : undefined;
      const first = await deps.store.operations.markRunning(input.operationId, runIdOrEmpty(), now(), began);
      if (first) await recordOperationStarted(deps.metrics, deps.store, input.operationId);
      const op = first ? null : await deps.store.operations.get(input.operationId);
      if (op && !ACTIVE_OPERATION_STATUSES.includes(op.status)) {
        return { phase: space?.deletedAt ? 'deleted' : (space?.phase ?? null), jobId: space?.nomadJobId ?? null, finished: { status: op.status, errorType: op.errorType, errorMessage: op.errorMessage } };
      }
      if (!space) return { phase: null };
      if (space.deletedAt) throw new KnotError(ErrorType.NotFound, `space '${input.spaceId}' has been deleted`);
      const atBegin = op?.phaseAtBegin ? { phase: op.phaseAtBegin, jobId: op.jobIdAtBegin ?? null } : { phase: space.phase, jobId: space.nomadJobId };
      if (input.requireStopped) requireDeletable({ name: space.name, phase: atBegin.phase });
      const previous = atBegin.phase;
      const patch: SpacePatch = { lastOperationId: input.operationId };
      if (input.phase && previous !== input.unlessPhase) {
        patch.phase = input.phase;
        patch.reason = '';
        patch.message = '';
      }
      await commit(async (tx, emit) => {
        await tx.spaces.update(input.spaceId, patch, now());
        await emit(phaseEvent(input.spaceId, input.operationId));
      });
      // the job the space last ran (null: none left), so a delete knows whether it has one to stop
      return { phase: previous, jobId: atBegin.jobId };
    },

    async finishOperation(input: { operationId: string; status: 'succeeded' | 'failed' | 'cancelled'; errorType?: string; errorMessage?: string; spaceId?: string }): Promise<void> {
      await commit((tx, emit) => endOperation(tx, emit, input.spaceId ?? null, input));
    },

    async setSpacePhase(input: { spaceId: string; phase: SpacePhase; reason?: string; message?: string }): Promise<void> {
      const patch: SpacePatch = { phase: input.phase, reason: input.reason ?? '', message: input.message ?? '' };
      if (input.phase === 'stopped') patch.startedAt = null;
      await commit(async (tx, emit) => {
        await tx.spaces.update(input.spaceId, patch, now());
        await emit(phaseEvent(input.spaceId));
      });
    },

    /** Create: validate parameters, render and parse (no Nomad objects), persist the space stopped. */
    async createSpaceRecord(input: CreateSpaceInput & { step?: StepRef }): Promise<{ spaceId: string }> {
      const existing = await deps.store.spaces.get(input.spaceId);
      if (existing) return { spaceId: existing.id };
      const template = await deps.store.templates.get(input.templateId);
      if (!template || template.deletedAt) throw new KnotError(ErrorType.NotFound, `template '${input.templateId}' not found`, { errors: [{ path: 'template', message: 'not found' }] });
      const probe: Space = {
        ...newSpaceRecord({ id: input.spaceId, name: input.name, ownerId: input.ownerId, templateId: input.templateId, templateRef: input.templateRef, parameters: {}, shell: input.shell, agentUrl: input.agentUrl }, now()),
        lastOperationId: input.operationId,
      };
      const { version } = await resolveSpaceVersion(deps, probe);
      const defs = (version.content.parameters ?? []) as ParameterDef[];
      const values = validateParameterValues(defs, decryptForValidation(input.parameters, deps.settings.encryptKey));
      probe.parameters = protectSecrets(defs, values, deps.settings.encryptKey);
      checkAgentUrl(version.content.type ?? 'nomad', input.agentUrl);
      // Render and parse now so a space that can never start is refused at create time.
      await renderSpace(deps, probe, version.version);
      await commit(async (tx, emit) => {
        await tx.spaces.insert(
          { id: probe.id, name: probe.name, ownerId: probe.ownerId, templateId: probe.templateId, templateRef: probe.templateRef, parameters: probe.parameters, shell: probe.shell, agentUrl: probe.agentUrl },
          now(),
        );
        await tx.spaces.update(probe.id, { lastOperationId: input.operationId }, now());
        await emit(phaseEvent(probe.id, input.operationId));
      });
      return { spaceId: probe.id };
    },

    /** Update: validate and record a spec change. Nothing is applied to Nomad here. */
    async applySpecChange(input: { spaceId: string; spec: SpaceSpecChange; step?: StepRef }): Promise<void> {
      const space = await deps.store.spaces.require(input.spaceId);
      const next: Space = { ...space };
      if (input.spec.templateRef !== undefined) next.templateRef = input.spec.templateRef;
      if (input.spec.shell !== undefined) next.shell = input.spec.shell;
      if (input.spec.agentUrl !== undefined) next.agentUrl = input.spec.agentUrl;
      const { version } = await resolveSpaceVersion(deps, next);
      const defs = (version.content.parameters ?? []) as ParameterDef[];
      const merged = { ...space.parameters, ...(input.spec.parameters ?? {}) };
      // parameters the new version no longer declares are dropped rather than rejected
      const declared = new Set(defs.map((d) => d.variable));
      for (const k of Object.keys(merged)) if (!declared.has(k)) delete merged[k];
      const values = validateParameterValues(defs, decryptForValidation(merged, deps.settings.encryptKey));
      next.parameters = protectSecrets(defs, values, deps.settings.encryptKey);
      await renderSpace(deps, next, version.version);
      await deps.store.spaces.update(space.id, { templateRef: next.templateRef, shell: next.shell, agentUrl: next.agentUrl, parameters: next.parameters }, now());
    },

    /**
     * Start, step 1: what to create, keep and remove; which job; the start timeout. `operationId`:
     * the start's own, so a plan made again still creates what its first run recorded
     * (core/volumes.ts `planVolumes`).
     */
    async prepareStart(input: { spaceId: string; operationId?: string; step?: StepRef }): Promise<StartPlan> {
      const rendered = await renderSpace(deps, input.spaceId);
      const content = rendered.version.content;
      const existing = await deps.store.volumes.listOfSpace(input.spaceId);
      const plan = planVolumes(rendered.volumes, existing.map((v) => ({ id: v.volumeId, type: v.type, createdBy: v.createdByOperation })), input.operationId);
      const kind = (content.type ?? 'nomad') === 'manual' ? 'manual' : 'nomad';
      return {
        kind,
        version: rendered.version.version,
        hash: rendered.version.contentHash,
        jobId: rendered.jobId,
        createVolumes: plan.create.map((v) => ({ id: v.id, type: v.type })),
        removeVolumes: plan.remove.map((v) => ({ id: v.id, type: v.type })),
        startTimeoutMs: (content.startTimeout ? parseDuration(content.startTimeout) : undefined) ?? DEFAULT_START_TIMEOUT_MS,
        agentUrl: rendered.space.agentUrl,
      };
    },

    /** Records the applied version; with `finishOperationId` the operation is done as well. */
    async completeStart(input: { spaceId: string; version: string; hash: string; jobId: string | null; finishOperationId?: string; step?: StepRef }): Promise<void> {
      const space = await deps.store.spaces.require(input.spaceId);
      await commit(async (tx, emit) => {
        await tx.spaces.update(input.spaceId,
          { phase: 'running', reason: '', message: '', appliedVersion: input.version, appliedHash: input.hash, nomadJobId: input.jobId, startedAt: space.phase === 'running' && space.startedAt ? space.startedAt : now() },
          now(),
        );
        await emit(phaseEvent(input.spaceId));
        return input.finishOperationId ? endOperation(tx, emit, input.spaceId, { operationId: input.finishOperationId, status: 'succeeded' }, input.step) : null;
      });
    },

    /** The space is stopped (job gone, volumes kept); with `finishOperationId` the operation is done. */
    async completeStop(input: { spaceId: string; finishOperationId?: string; step?: StepRef }): Promise<void> {
      await commit(async (tx, emit) => {
        await tx.spaces.update(input.spaceId, { phase: 'stopped', reason: '', message: '', startedAt: null, nomadJobId: null }, now());
        await emit(phaseEvent(input.spaceId));
        return input.finishOperationId ? endOperation(tx, emit, input.spaceId, { operationId: input.finishOperationId, status: 'succeeded' }, input.step) : null;
      });
    },

    async markSpaceDeleted(input: { spaceId: string; finishOperationId?: string; step?: StepRef }): Promise<void> {
      // no agent may link to a deleted space: every token goes, announced before the space.deleted
      // event (a retry after the commit only makes sure, without announcing a deleted space again)
      const before = await deps.store.spaces.get(input.spaceId);
      if (before && !before.deletedAt) await cutOffAgent(deps, input.spaceId);
      else await deps.store.agentTokens.revokeForSpace(input.spaceId);
      await commit(async (tx, emit) => {
        await tx.spaces.markDeleted(input.spaceId, now());
        await emit({ type: 'space.deleted', spaceId: input.spaceId, ...(input.finishOperationId ? { operationId: input.finishOperationId } : {}) });
        return input.finishOperationId ? endOperation(tx, emit, input.spaceId, { operationId: input.finishOperationId, status: 'succeeded' }, input.step) : null;
      });
    },

    /** The volumes a space has now (delete removes every one). */
    async spaceSnapshot(input: { spaceId: string }): Promise<{ volumeIds: { id: string; type: 'csi' | 'host' }[] } | null> {
      const space = await deps.store.spaces.get(input.spaceId);
      if (!space) return null;
      const vols = await deps.store.volumes.listOfSpace(input.spaceId);
      return { volumeIds: vols.map((v) => ({ id: v.volumeId, type: v.type })) };
    },
  };
}

function decryptForValidation(values: Record<string, string | number | boolean>, key: string): Record<string, string | number | boolean> {
  // encrypted password values are validated by shape only after decryption
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(values)) {
    out[k] = isEncrypted(v) ? decryptSecret(v, key) : v;
  }
  return out;
}

export type SpaceRecordActivities = ReturnType<typeof createSpaceRecordActivities>;
