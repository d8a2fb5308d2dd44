/** Spaces repository. A deleted space keeps its row (audit, retention) but frees its name. */
import type { Db } from './db';
import { toJson } from './db';
import { ErrorType, KnotError, notFound } from '../core/errors';
import { chunks } from '../core/batches';
import { TRANSITIONAL_PHASES } from '../core/lifecycle';
import type { SpaceFacts } from '../core/sweeps';

import type { SpacePhase } from '../core/lifecycle';

export { SPACE_PHASES, type SpacePhase } from '../core/lifecycle';

export interface Space {
  id: string;
  name: string;
  ownerId: string;
  templateId: string;
  templateRef: string;
  /** password parameter values are stored encrypted (`v1:...`) */
  parameters: Record<string, string | number | boolean>;
  shell: string;
  agentUrl: string | null;
  phase: SpacePhase;
  reason: string;
  message: string;
  appliedVersion: string | null;
  appliedHash: string | null;
  nomadJobId: string | null;
  lastOperationId: string | null;
  startedAt: number | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

type Row = Record<string, unknown>;

function fromRow(r: Row): Space {
  return {
    id: r.id as string,
    name: r.name as string,
    ownerId: r.owner_id as string,
    templateId: r.template_id as string,
    templateRef: r.template_ref as string,
    parameters: toJson(r.parameters_json, {}),
    shell: r.shell as string,
    agentUrl: (r.agent_url as string | null) ?? null,
    phase: r.phase as SpacePhase,
    reason: r.reason as string,
    message: (r.message as string) ?? '',
    appliedVersion: (r.applied_version as string | null) ?? null,
    appliedHash: (r.applied_hash as string | null) ?? null,
    nomadJobId: (r.nomad_job_id as string | null) ?? null,
    lastOperationId: (r.last_operation_id as string | null) ?? null,
    startedAt: r.started_at == null ? null : Number(r.started_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: r.deleted_at == null ? null : Number(r.deleted_at),
  };
}

export interface NewSpace {
  id: string;
  name: string;
  ownerId: string;
  templateId: string;
  templateRef: string;
  parameters: Record<string, string | number | boolean>;
  shell: string;
  agentUrl: string | null;
}

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; errno?: number; message?: string };
  return (
    err.code === 'ER_DUP_ENTRY' ||
    err.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed|Duplicate entry/.test(err.message ?? '')
  );
}

/** Insert; idempotent on id (a retried activity finds its own row). Name clash → conflict. */
export async function insertSpace(db: Db, s: NewSpace, now: number): Promise<Space> {
  const existing = await getSpace(db, s.id);
  if (existing) return existing;
  try {
    await db('spaces').insert({
      id: s.id,
      name: s.name,
      owner_id: s.ownerId,
      active_name: s.name,
      template_id: s.templateId,
      template_ref: s.templateRef,
      parameters_json: JSON.stringify(s.parameters),
      shell: s.shell,
      agent_url: s.agentUrl,
      phase: 'stopped',
      reason: '',
      message: '',
      created_at: now,
      updated_at: now,
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new KnotError(ErrorType.Conflict, `a space named '${s.name}' already exists`, {
        errors: [{ path: 'name', message: 'already in use' }],
      });
    }
    throw e;
  }
  return (await getSpace(db, s.id))!;
}

export async function getSpace(db: Db, id: string): Promise<Space | null> {
  const r = await db('spaces').where({ id }).first();
  return r ? fromRow(r) : null;
}

export async function requireSpace(db: Db, id: string): Promise<Space> {
  const s = await getSpace(db, id);
  if (!s || s.deletedAt) throw notFound('space', id);
  return s;
}

export async function getSpaceByName(db: Db, ownerId: string, name: string): Promise<Space | null> {
  const r = await db('spaces').where({ owner_id: ownerId, active_name: name }).first();
  return r ? fromRow(r) : null;
}

export interface SpaceFilter {
  ownerId?: string;
  templateId?: string;
  phase?: SpacePhase;
  /** opaque cursor: `<createdAt>.<id>` of the last item of the previous page */
  after?: { createdAt: number; id: string };
  limit: number;
}

/** Stable order: created_at, id (both indexed). */
export async function listSpaces(db: Db, f: SpaceFilter): Promise<Space[]> {
  const q = db('spaces').whereNull('deleted_at');
  if (f.ownerId) q.where('owner_id', f.ownerId);
  if (f.templateId) q.where('template_id', f.templateId);
  if (f.phase) q.where('phase', f.phase);
  if (f.after) {
    const a = f.after;
    q.where((w) => w.where('created_at', '>', a.createdAt).orWhere((w2) => w2.where('created_at', a.createdAt).andWhere('id', '>', a.id)));
  }
  const rows = await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(f.limit);
  return rows.map(fromRow);
}

export type SpacePatch = Partial<
  Pick<
    Space,
    'templateRef' | 'parameters' | 'shell' | 'agentUrl' | 'phase' | 'reason' | 'message' | 'appliedVersion' | 'appliedHash' | 'nomadJobId' | 'lastOperationId' | 'startedAt' | 'templateId'
  >
>;

export async function updateSpace(db: Db, id: string, patch: SpacePatch, now: number): Promise<void> {
  const row: Row = { updated_at: now };
  if (patch.templateRef !== undefined) row.template_ref = patch.templateRef;
  if (patch.templateId !== undefined) row.template_id = patch.templateId;
  if (patch.parameters !== undefined) row.parameters_json = JSON.stringify(patch.parameters);
  if (patch.shell !== undefined) row.shell = patch.shell;
  if (patch.agentUrl !== undefined) row.agent_url = patch.agentUrl;
  if (patch.phase !== undefined) row.phase = patch.phase;
  if (patch.reason !== undefined) row.reason = patch.reason;
  if (patch.message !== undefined) row.message = patch.message;
  if (patch.appliedVersion !== undefined) row.applied_version = patch.appliedVersion;
  if (patch.appliedHash !== undefined) row.applied_hash = patch.appliedHash;
  if (patch.nomadJobId !== undefined) row.nomad_job_id = patch.nomadJobId;
  if (patch.lastOperationId !== undefined) row.last_operation_id = patch.lastOperationId;
  if (patch.startedAt !== undefined) row.started_at = patch.startedAt;
  await db('spaces').where({ id }).update(row);
}

export async function markSpaceDeleted(db: Db, id: string, now: number): Promise<void> {
  await db('spaces')
    .where({ id })
    .update({ phase: 'deleted', active_name: null, deleted_at: now, updated_at: now, nomad_job_id: null, reason: '', message: '' });
}

export async function countSpacesUsingTemplate(db: Db, templateId: string): Promise<number> {
  const r = await db('spaces').where({ template_id: templateId }).whereNull('deleted_at').count<{ n: number }[]>({ n: '*' });
  return Number(r[0]?.n ?? 0);
}

// ---- sweeps: page through spaces by index, never every row ----

/** A running space as the auto-stop sweep sees it. */
export interface RunningSpace {
  id: string;
  ownerId: string;
  templateId: string;
  /** the applied template version; null when none was recorded */
  version: string | null;
  startedAt: number;
}

/** One page of running spaces keyed by (started_at, id) after `after` (index `spaces(phase, started_at)`). */
export async function listRunningSpaces(db: Db, after: { startedAt: number; id: string } | null, limit: number): Promise<RunningSpace[]> {
  const q = db('spaces').where('phase', 'running').whereNotNull('started_at');
  if (after) q.where('started_at', '>=', after.startedAt).andWhere((w) => w.where('started_at', '>', after.startedAt).orWhere('id', '>', after.id));
  const rows = await q.orderBy([{ column: 'started_at' }, { column: 'id' }]).limit(limit).select('id', 'owner_id', 'template_id', 'applied_version', 'started_at');
  return rows.map((r: Row) => ({
    id: r.id as string,
    ownerId: r.owner_id as string,
    templateId: r.template_id as string,
    version: (r.applied_version as string | null) ?? null,
    startedAt: Number(r.started_at),
  }));
}

/** Phase, deletion and job of each of these spaces that exists (orphan-job sweep). */
export async function getSpaceFacts(db: Db, spaceIds: readonly string[]): Promise<Map<string, SpaceFacts>> {
  const facts = new Map<string, SpaceFacts>();
  for (const ids of chunks([...new Set(spaceIds)])) {
    const rows = await db('spaces').whereIn('id', ids).select('id', 'phase', 'deleted_at', 'nomad_job_id');
    for (const r of rows) facts.set(r.id as string, { phase: r.phase as SpacePhase, deleted: r.deleted_at != null, nomadJobId: (r.nomad_job_id as string | null) ?? null });
  }
  return facts;
}

/**
 * A space left in a transitional phase by this (dead) operation becomes `failed` with the reason;
 * a space a later operation has since taken over is left alone.
 */
export async function failSpaceLeftByOperation(db: Db, spaceId: string, operationId: string, reason: string, message: string, now: number): Promise<void> {
  await db('spaces')
    .where({ id: spaceId, last_operation_id: operationId })
    .whereIn('phase', [...TRANSITIONAL_PHASES])
    .update({ phase: 'failed', reason, message, updated_at: now });
}

/**
 * Up to `limit` ids of spaces deleted before `before`, oldest first, that hold no volume record
 * any more: a record is knot's only proof that a Nomad volume is its own, so a space keeps it
 * (and is kept) until the cleanup sweep has seen the volume gone.
 */
export async function listSpacesDeletedBefore(db: Db, before: number, limit: number): Promise<string[]> {
  const rows = await db('spaces')
    .whereNotNull('deleted_at')
    .where('deleted_at', '<', before)
    .whereNotExists((q) => q.select(db.raw('1')).from('space_volumes').whereRaw('space_volumes.space_id = spaces.id'))
    .orderBy('deleted_at')
    .limit(limit)
    .select('id');
  return rows.map((r: Row) => r.id as string);
}

/** Forgets deleted spaces for good: their volume rows, operations, agent state, the space rows. */
export async function purgeDeletedSpaces(db: Db, ids: readonly string[]): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('space_volumes').whereIn('space_id', ids).delete();
    await trx('operations').whereIn('space_id', ids).delete();
    await trx('agent_state').whereIn('space_id', ids).delete();
    await trx('spaces').whereIn('id', ids).whereNotNull('deleted_at').delete();
  });
}
