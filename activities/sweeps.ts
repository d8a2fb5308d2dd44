/**
 * The scheduled sweeps' side effects. Each reads the store page by page through an index (never
 * every row), so a sweep over 100,000 spaces stays in seconds; each heartbeats its progress so a
 * retry resumes where the previous attempt stopped.
 *
 * - auto-stop: running spaces past their template's max uptime, outside its schedule, or idle.
 * - cleanup: Nomad jobs and volumes carrying knot's marks that no space owns, operations stuck
 *   past their deadline, deleted spaces past retention.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { autoStopDecision, type AutoStopTemplate } from '../core/auto-stop';
import { ErrorType, isKnotError } from '../core/errors';
import { idTime } from '../core/names';
import { scheduleSchema } from '../core/template';
import { SqlAgentStateStore, type AgentStateStore } from '../store/agent-state';
import { insertAudit } from '../store/audit';
import type { Db } from '../store/db';
import { toJson } from '../store/db';
import { finishOperation, type Operation } from '../store/operations';
import { recordOperationFinished } from './metrics';
import type { SpacePhase } from '../store/spaces';
import type { JobListStub } from '../nomad/types';
import type { OperationRequest } from '../temporal/lifecycle-client';
import type { ActivityDeps } from './deps';
import { KNOT_SPACE_META } from './render-space';

/** What the auto-stop sweep needs from the LifecycleClient. */
export interface SweepLifecycle {
  startOperation(req: OperationRequest): Promise<{ id: string }>;
}

/** What the cleanup sweep asks Temporal about a stuck operation. */
export interface SweepWorkflows {
  /** Whether the operation's workflow run is still open. */
  isRunning(op: Pick<Operation, 'id' | 'workflowId' | 'runId'>): Promise<boolean>;
}

/** SweepWorkflows over a Temporal client. */
export function temporalSweepWorkflows(client: Pick<Client, 'workflow'>): SweepWorkflows {
  return {
    async isRunning(op) {
      try {
        const d = await client.workflow.getHandle(op.workflowId, op.runId ?? undefined).describe();
        if (d.status.name !== 'RUNNING') return false;
        // without a run id the latest run of `space-<id>` may be another operation's
        return op.runId !== null || d.memo?.operationId === op.id;
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) return false;
        throw e;
      }
    },
  };
}

// ---- inputs and results (plain JSON: they travel through workflow histories) ----

export interface AutoStopSweepInput {
  /** `server.schedules.idle_timeout` in ms; 0 or absent: only templates' idleTimeout applies */
  idleTimeoutMs?: number;
  pageSize?: number;
  concurrency?: number;
}

export interface AutoStopSweepResult {
  scanned: number;
  /** stop operations started */
  stopped: number;
  /** due a stop but an operation was already running on the space */
  skipped: number;
  /** due a stop but starting it failed (logged; the next sweep tries again) */
  failed: number;
}

export interface OrphanJobsResult {
  checked: number;
  purged: number;
  failed: number;
}

export interface OrphanVolumesResult {
  checked: number;
  deleted: number;
  failed: number;
}

export interface StuckOperationsResult {
  checked: number;
  markedFailed: number;
}

export interface PurgeDeletedResult {
  purged: number;
}

// ---- helpers ----

const DEFAULT_PAGE = 500;
const DEFAULT_CONCURRENCY = 50;
const IN_CHUNK = 500;
const TRANSITIONAL: readonly SpacePhase[] = ['starting', 'stopping', 'deleting'];

function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity (unit tests)
  }
}

/** The progress the previous attempt of this activity heartbeated, if any. */
function resumedFrom<T>(): T | undefined {
  try {
    return Context.current().info.heartbeatDetails as T | undefined;
  } catch {
    return undefined;
  }
}

function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

async function activeOperationSpaceIds(db: Db, spaceIds: readonly string[]): Promise<Set<string>> {
  const busy = new Set<string>();
  for (const ids of chunks(spaceIds)) {
    const rows = await db('operations').whereIn('space_id', ids).whereIn('status', ['pending', 'running']).distinct('space_id');
    for (const r of rows) busy.add(r.space_id as string);
  }
  return busy;
}

/** The auto-stop fields of a stored template version; a malformed schedule is ignored, not fatal. */
function autoStopFields(content: Record<string, unknown>): AutoStopTemplate {
  const out: AutoStopTemplate = {};
  if (typeof content.maxUptime === 'string') out.maxUptime = content.maxUptime;
  if (typeof content.idleTimeout === 'string') out.idleTimeout = content.idleTimeout;
  const schedule = scheduleSchema.safeParse(content.schedule);
  if (content.schedule !== undefined && schedule.success) out.schedule = schedule.data;
  return out;
}

interface TemplateInfo {
  name: string;
  latestVersion: string;
}

/** Template names and version contents, each loaded once per sweep. */
class TemplateCache {
  private readonly templates = new Map<string, TemplateInfo | null>();
  private readonly versions = new Map<string, AutoStopTemplate>();

  constructor(private readonly db: Db) {}

  template(id: string): TemplateInfo | null {
    return this.templates.get(id) ?? null;
  }

  rules(templateId: string, version: string | null): AutoStopTemplate {
    const v = version ?? this.template(templateId)?.latestVersion;
    return (v && this.versions.get(`${templateId}@${v}`)) || {};
  }

  async load(spaces: readonly { templateId: string; version: string | null }[]): Promise<void> {
    const missingTemplates = [...new Set(spaces.map((s) => s.templateId))].filter((id) => !this.templates.has(id));
    for (const ids of chunks(missingTemplates)) {
      const rows = await this.db('templates').whereIn('id', ids).select('id', 'name', 'latest_version');
      for (const id of ids) this.templates.set(id, null);
      for (const r of rows) this.templates.set(r.id as string, { name: r.name as string, latestVersion: r.latest_version as string });
    }
    const wanted = new Map<string, [string, string]>();
    for (const s of spaces) {
      const v = s.version ?? this.template(s.templateId)?.latestVersion;
      if (v && !this.versions.has(`${s.templateId}@${v}`)) wanted.set(`${s.templateId}@${v}`, [s.templateId, v]);
    }
    for (const pairs of chunks([...wanted.values()], 100)) {
      const rows = await this.db('template_versions')
        .where((w) => {
          for (const [t, v] of pairs) w.orWhere((p) => p.where('template_id', t).andWhere('version', v));
        })
        .select('template_id', 'version', 'content_json');
      for (const [t, v] of pairs) this.versions.set(`${t}@${v}`, {});
      for (const r of rows) this.versions.set(`${r.template_id as string}@${r.version as string}`, autoStopFields(toJson(r.content_json, {})));
    }
  }
}

// ---- orphan detection (pure) ----

/** 26-character knot ids (ULIDs, Crockford lowercase) standing alone inside a volume name. */
const EMBEDDED_ID = /(?<![0-9a-z])[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])/g;

export function embeddedIds(name: string): string[] {
  return [...new Set(name.match(EMBEDDED_ID) ?? [])];
}

export interface SpaceFacts {
  phase: SpacePhase;
  deleted: boolean;
  nomadJobId: string | null;
}

/**
 * Why a job carrying `knot_space_id` should be purged, or null to leave it. A space with an
 * operation in flight is never touched (that operation owns the job); a space still running this
 * very job keeps it.
 */
export function orphanJobReason(jobId: string, space: SpaceFacts | null, operationRunning: boolean): string | null {
  if (!space) return 'its space is unknown';
  if (space.deleted) return 'its space was deleted';
  if (operationRunning || TRANSITIONAL.includes(space.phase)) return null;
  if (space.phase === 'running') return space.nomadJobId === jobId ? null : 'its space runs another job';
  return `its space is ${space.phase}`;
}

// ---- activities ----

export function createSweepActivities(deps: ActivityDeps) {
  const agentState: AgentStateStore = deps.agentState ?? new SqlAgentStateStore(deps.db, 0, deps.clock);
  const log = deps.logger;

  return {
    /**
     * Evaluates every running space against the auto-stop rules and starts a stop for each one
     * due. Pages through `spaces(phase, started_at)` keyed by (started_at, id).
     */
    async autoStopSweep(input: AutoStopSweepInput = {}): Promise<AutoStopSweepResult> {
      const lifecycle = deps.lifecycle;
      if (!lifecycle) throw new Error('the auto-stop sweep needs a lifecycle client in the activity deps');
      const pageSize = input.pageSize ?? DEFAULT_PAGE;
      const concurrency = input.concurrency ?? DEFAULT_CONCURRENCY;
      const resumed = resumedFrom<{ cursor: { startedAt: number; id: string } | null; result: AutoStopSweepResult }>();
      let cursor = resumed?.cursor ?? null;
      const result: AutoStopSweepResult = resumed?.result ?? { scanned: 0, stopped: 0, skipped: 0, failed: 0 };
      const templates = new TemplateCache(deps.db);

      for (;;) {
        const q = deps.db('spaces').where('phase', 'running').whereNotNull('started_at');
        if (cursor) {
          const c = cursor;
          q.where('started_at', '>=', c.startedAt).andWhere((w) => w.where('started_at', '>', c.startedAt).orWhere('id', '>', c.id));
        }
        const rows = await q
          .orderBy([{ column: 'started_at' }, { column: 'id' }])
          .limit(pageSize)
          .select('id', 'name', 'owner_id', 'template_id', 'applied_version', 'started_at');
        if (rows.length === 0) break;
        const page = rows.map((r) => ({
          id: r.id as string,
          ownerId: r.owner_id as string,
          templateId: r.template_id as string,
          version: (r.applied_version as string | null) ?? null,
          startedAt: Number(r.started_at),
        }));

        await templates.load(page);
        const owners = new Map<string, { username: string; timezone: string }>();
        const ownerRows = await deps.db('users').whereIn('id', [...new Set(page.map((s) => s.ownerId))]).select('id', 'username', 'timezone');
        for (const o of ownerRows) owners.set(o.id as string, { username: o.username as string, timezone: (o.timezone as string) || 'UTC' });
        const agents = await agentState.getMany(page.map((s) => s.id));

        const now = deps.clock();
        const due: { spaceId: string; reason: string; ownerName: string; templateName: string }[] = [];
        for (const s of page) {
          const owner = owners.get(s.ownerId);
          const agent = agents.get(s.id);
          const decision = autoStopDecision({
            startedAt: s.startedAt,
            timezone: owner?.timezone ?? 'UTC',
            template: templates.rules(s.templateId, s.version),
            agent: agent ? { lastActivity: agent.lastActivity } : null,
            globalIdleTimeoutMs: input.idleTimeoutMs ?? 0,
            now,
          });
          if (decision.stop) due.push({ spaceId: s.id, reason: decision.reason, ownerName: owner?.username ?? s.ownerId, templateName: templates.template(s.templateId)?.name ?? s.templateId });
        }

        await forEachLimit(due, concurrency, async (d) => {
          try {
            const op = await lifecycle.startOperation({ spaceId: d.spaceId, type: 'stop', requestedBy: 'system', ownerName: d.ownerName, templateName: d.templateName, reason: d.reason });
            result.stopped++;
            await insertAudit(deps.db, {
              at: deps.clock(),
              actorId: null,
              actor: 'system',
              action: 'space.auto_stop',
              resourceType: 'space',
              resourceId: d.spaceId,
              outcome: 'ok',
              detail: { reason: d.reason, operationId: op.id },
            });
          } catch (e) {
            if (isKnotError(e) && e.type === ErrorType.OperationInProgress) {
              result.skipped++;
              return;
            }
            result.failed++;
            log.warn({ spaceId: d.spaceId, err: (e as Error).message }, 'auto-stop: could not start the stop');
          }
        });

        result.scanned += page.length;
        const last = page[page.length - 1]!;
        cursor = { startedAt: last.startedAt, id: last.id };
        heartbeat({ cursor, result });
        if (rows.length < pageSize) break;
      }
      if (result.stopped + result.skipped + result.failed > 0) log.info(result, 'auto-stop sweep');
      return result;
    },

    /**
     * Purges Nomad jobs that carry `knot_space_id` but that no space owns: unknown or deleted
     * spaces, and stopped/failed spaces with no operation in flight. Jobs without knot's meta are
     * never touched. A job of an existing space submitted within `graceMs` is left for the next
     * sweep, and each purge re-checks the space first, so a start that has just registered its
     * job is not undone.
     */
    async cleanupOrphanJobs(input: { graceMs?: number } = {}): Promise<OrphanJobsResult> {
      const graceMs = input.graceMs ?? 5 * 60_000;
      const result: OrphanJobsResult = { checked: 0, purged: 0, failed: 0 };
      const stubs = await deps.nomad.listJobs({ meta: true });
      heartbeat();
      // Nomad before 1.5 leaves Meta out of the list: read those jobs one by one
      const marked: { job: JobListStub; spaceId: string }[] = [];
      await forEachLimit(stubs, 10, async (stub) => {
        const meta = stub.Meta !== undefined ? stub.Meta : ((await deps.nomad.readJob(stub.ID))?.Meta ?? {});
        const spaceId = meta?.[KNOT_SPACE_META];
        if (spaceId) marked.push({ job: stub, spaceId });
      });
      result.checked = marked.length;

      const spaces = new Map<string, SpaceFacts>();
      for (const ids of chunks([...new Set(marked.map((m) => m.spaceId))])) {
        const rows = await deps.db('spaces').whereIn('id', ids).select('id', 'phase', 'deleted_at', 'nomad_job_id');
        for (const r of rows) spaces.set(r.id as string, { phase: r.phase as SpacePhase, deleted: r.deleted_at != null, nomadJobId: (r.nomad_job_id as string | null) ?? null });
      }
      const busy = await activeOperationSpaceIds(deps.db, [...spaces.keys()]);
      const now = deps.clock();

      await forEachLimit(marked, 10, async ({ job, spaceId }) => {
        let reason = orphanJobReason(job.ID, spaces.get(spaceId) ?? null, busy.has(spaceId));
        if (!reason) return;
        if (spaces.has(spaceId)) {
          // Nomad's SubmitTime is in nanoseconds
          if (now - Math.floor(job.SubmitTime / 1e6) < graceMs) return;
          const fresh = await deps.db('spaces').where({ id: spaceId }).first('phase', 'deleted_at', 'nomad_job_id');
          const freshBusy = await activeOperationSpaceIds(deps.db, [spaceId]);
          reason = orphanJobReason(
            job.ID,
            fresh ? { phase: fresh.phase as SpacePhase, deleted: fresh.deleted_at != null, nomadJobId: (fresh.nomad_job_id as string | null) ?? null } : null,
            freshBusy.has(spaceId),
          );
          if (!reason) return;
        }
        try {
          await deps.nomad.deregisterJob(job.ID, { purge: true });
          result.purged++;
          log.info({ jobId: job.ID, spaceId, reason }, 'cleanup: purged orphan Nomad job');
        } catch (e) {
          result.failed++;
          log.warn({ jobId: job.ID, spaceId, err: (e as Error).message }, 'cleanup: could not purge orphan job');
        }
        heartbeat();
      });
      return result;
    },

    /**
     * Deletes CSI and host volumes that knot made for spaces that are gone. A volume is knot's
     * when its name contains a knot id (every template names volumes after `.space.id` to keep
     * them apart); it is an orphan when no row of `space_volumes` owns it and every id in its name
     * is a deleted space, or an id the store does not know at all (not a space, user, template or
     * group; a space long purged) that is older than `graceMs`. Volumes without such an id are
     * never touched.
     */
    async cleanupOrphanVolumes(input: { graceMs?: number } = {}): Promise<OrphanVolumesResult> {
      const graceMs = input.graceMs ?? 10 * 60_000;
      const result: OrphanVolumesResult = { checked: 0, deleted: 0, failed: 0 };
      const [csi, host] = await Promise.all([deps.nomad.listCsiVolumes(), deps.nomad.listHostVolumes()]);
      heartbeat();
      const volumes = [
        ...csi.map((v) => ({ type: 'csi' as const, nomadId: v.ID, name: v.ID })),
        ...host.map((v) => ({ type: 'host' as const, nomadId: v.ID, name: v.Name })),
      ]
        .map((v) => ({ ...v, ids: embeddedIds(v.name) }))
        .filter((v) => v.ids.length > 0);
      result.checked = volumes.length;

      const allIds = [...new Set(volumes.flatMap((v) => v.ids))];
      const liveSpaces = new Set<string>();
      const deletedSpaces = new Set<string>();
      for (const ids of chunks(allIds)) {
        for (const r of await deps.db('spaces').whereIn('id', ids).select('id', 'deleted_at')) {
          (r.deleted_at == null ? liveSpaces : deletedSpaces).add(r.id as string);
        }
      }
      const unknown = allIds.filter((id) => !liveSpaces.has(id) && !deletedSpaces.has(id));
      const otherKnown = new Set<string>();
      for (const table of ['users', 'templates', 'groups']) {
        for (const ids of chunks(unknown)) for (const r of await deps.db(table).whereIn('id', ids).select('id')) otherKnown.add(r.id as string);
      }
      const now = deps.clock();
      const gone = (id: string) => deletedSpaces.has(id) || (!liveSpaces.has(id) && !otherKnown.has(id) && now - idTime(id) >= graceMs);
      const candidates = volumes.filter((v) => v.ids.every(gone));

      // the few candidates are checked against every ownership row, whichever space holds it
      const owned = new Set<string>();
      const names = [...new Set(candidates.flatMap((v) => [v.name, v.nomadId]))];
      for (const ids of chunks(names)) {
        const rows = await deps.db('space_volumes').whereIn('volume_id', ids).orWhereIn('nomad_id', ids).select('volume_id', 'nomad_id');
        for (const r of rows) {
          owned.add(r.volume_id as string);
          if (r.nomad_id) owned.add(r.nomad_id as string);
        }
      }

      await forEachLimit(
        candidates.filter((v) => !owned.has(v.name) && !owned.has(v.nomadId)),
        5,
        async (v) => {
          try {
            if (v.type === 'csi') await deps.nomad.deleteCsiVolume(v.nomadId);
            else await deps.nomad.deleteHostVolume(v.nomadId);
            result.deleted++;
            log.info({ volumeId: v.name, type: v.type }, 'cleanup: deleted orphan volume');
          } catch (e) {
            // typically `volume in use` while an orphan job's claims drain: the next sweep retries
            result.failed++;
            log.warn({ volumeId: v.name, type: v.type, err: (e as Error).message }, 'cleanup: could not delete orphan volume');
          }
          heartbeat();
        },
      );
      return result;
    },

    /**
     * Operations still pending/running past their deadline whose workflow is no longer running
     * (it was terminated, or never started) are marked failed (`operation_stuck`), so the space
     * accepts operations again; a space left in a transitional phase by one becomes `failed`.
     * Without a Temporal client in the deps the deadline alone decides.
     */
    async failStuckOperations(input: { pageSize?: number } = {}): Promise<StuckOperationsResult> {
      const pageSize = input.pageSize ?? 200;
      const result: StuckOperationsResult = { checked: 0, markedFailed: 0 };
      const now = deps.clock();
      let cursor: { deadlineAt: number; id: string } | null = null;
      for (;;) {
        const q = deps.db('operations').whereIn('status', ['pending', 'running']).where('deadline_at', '<', now);
        if (cursor) {
          const c: { deadlineAt: number; id: string } = cursor;
          q.where('deadline_at', '>=', c.deadlineAt).andWhere((w) => w.where('deadline_at', '>', c.deadlineAt).orWhere('id', '>', c.id));
        }
        const rows = await q.orderBy([{ column: 'deadline_at' }, { column: 'id' }]).limit(pageSize).select('id', 'space_id', 'type', 'workflow_id', 'run_id', 'deadline_at');
        for (const r of rows) {
          result.checked++;
          const op = { id: r.id as string, workflowId: r.workflow_id as string, runId: (r.run_id as string | null) || null };
          if (deps.workflows && (await deps.workflows.isRunning(op))) continue;
          const message = `the ${r.type as string} operation passed its deadline (${new Date(Number(r.deadline_at)).toISOString()}) and its workflow is not running`;
          if (await finishOperation(deps.db, op.id, { status: 'failed', errorType: 'operation_stuck', errorMessage: message }, deps.clock())) {
            await recordOperationFinished(deps.metrics, deps.db, op.id);
          }
          await deps.db('spaces')
            .where({ id: r.space_id as string, last_operation_id: op.id })
            .whereIn('phase', [...TRANSITIONAL])
            .update({ phase: 'failed', reason: 'OperationStuck', message, updated_at: deps.clock() });
          result.markedFailed++;
          log.warn({ operationId: op.id, spaceId: r.space_id }, 'cleanup: marked a stuck operation failed');
        }
        heartbeat(result);
        const last = rows[rows.length - 1];
        if (!last || rows.length < pageSize) break;
        cursor = { deadlineAt: Number(last.deadline_at), id: last.id as string };
      }
      return result;
    },

    /** Forgets spaces deleted longer than `retentionMs` ago: volumes rows, operations, agent state, the space. */
    async purgeDeletedSpaces(input: { retentionMs: number; pageSize?: number }): Promise<PurgeDeletedResult> {
      const pageSize = input.pageSize ?? 500;
      const before = deps.clock() - input.retentionMs;
      const result: PurgeDeletedResult = { purged: 0 };
      for (;;) {
        const ids = (await deps.db('spaces').whereNotNull('deleted_at').where('deleted_at', '<', before).orderBy('deleted_at').limit(pageSize).select('id')).map((r) => r.id as string);
        if (ids.length === 0) break;
        await deps.db.transaction(async (trx) => {
          await trx('space_volumes').whereIn('space_id', ids).delete();
          await trx('operations').whereIn('space_id', ids).delete();
          await trx('agent_state').whereIn('space_id', ids).delete();
          await trx('spaces').whereIn('id', ids).whereNotNull('deleted_at').delete();
        });
        if (deps.agentState) await deps.agentState.forget(ids);
        result.purged += ids.length;
        heartbeat(result);
        if (ids.length < pageSize) break;
      }
      return result;
    },
  };
}
