/**
 * Templates and their immutable versions. The template row caches the latest version and hash;
 * every version row holds the full content as JSON so any space can be rendered from the exact
 * version it applied.
 */
import type { Db } from './db';
import { toJson } from './db';
import { chunks } from '../core/batches';
import { isUniqueViolation } from './spaces';
import { conflict } from '../core/errors';

export interface TemplateRecord {
  id: string;
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  groups: string[];
  latestVersion: string;
  latestHash: string;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

export interface TemplateVersionRecord<C = Record<string, unknown>> {
  id: string;
  templateId: string;
  version: string;
  contentHash: string;
  content: C;
  createdBy: string | null;
  createdAt: number;
}

function templateFromRow(r: Record<string, unknown>): TemplateRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    displayName: (r.display_name as string) ?? '',
    description: (r.description as string) ?? '',
    type: r.type as 'nomad' | 'manual',
    groups: toJson(r.groups_json, [] as string[]),
    latestVersion: r.latest_version as string,
    latestHash: r.latest_hash as string,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: r.deleted_at == null ? null : Number(r.deleted_at),
  };
}

function versionFromRow<C>(r: Record<string, unknown>): TemplateVersionRecord<C> {
  return {
    id: r.id as string,
    templateId: r.template_id as string,
    version: r.version as string,
    contentHash: r.content_hash as string,
    content: toJson(r.content_json, {} as C),
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: Number(r.created_at),
  };
}

export async function getTemplate(db: Db, id: string): Promise<TemplateRecord | null> {
  const r = await db('templates').where({ id }).first();
  return r ? templateFromRow(r) : null;
}

export async function getTemplateByName(db: Db, name: string): Promise<TemplateRecord | null> {
  const r = await db('templates').where({ active_name: name }).first();
  return r ? templateFromRow(r) : null;
}

export async function listTemplates(db: Db): Promise<TemplateRecord[]> {
  const rows = await db('templates').whereNull('deleted_at').orderBy('name');
  return rows.map(templateFromRow);
}

export async function listTemplateVersions<C = Record<string, unknown>>(db: Db, templateId: string): Promise<TemplateVersionRecord<C>[]> {
  const rows = await db('template_versions').where({ template_id: templateId }).orderBy('created_at');
  return rows.map((r) => versionFromRow<C>(r));
}

export async function getTemplateVersion<C = Record<string, unknown>>(db: Db, templateId: string, version: string): Promise<TemplateVersionRecord<C> | null> {
  const r = await db('template_versions').where({ template_id: templateId, version }).first();
  return r ? versionFromRow<C>(r) : null;
}

export interface NewTemplateVersion<C> {
  versionId: string;
  version: string;
  contentHash: string;
  content: C;
  createdBy: string | null;
}

export interface TemplateMeta {
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  groups: string[];
}

/** Creates the template and its first version in one transaction. */
export async function insertTemplate<C>(db: Db, id: string, meta: TemplateMeta, v: NewTemplateVersion<C>, now: number): Promise<TemplateRecord> {
  try {
    await db.transaction(async (trx) => {
      await trx('templates').insert({
        id,
        name: meta.name,
        active_name: meta.name,
        display_name: meta.displayName,
        description: meta.description,
        type: meta.type,
        groups_json: JSON.stringify(meta.groups),
        latest_version: v.version,
        latest_hash: v.contentHash,
        created_by: v.createdBy,
        created_at: now,
        updated_at: now,
      });
      await trx('template_versions').insert({
        id: v.versionId,
        template_id: id,
        version: v.version,
        content_hash: v.contentHash,
        content_json: JSON.stringify(v.content),
        created_by: v.createdBy,
        created_at: now,
      });
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`a template named '${meta.name}' already exists`, { field: 'name' });
    throw e;
  }
  return (await getTemplate(db, id))!;
}

/**
 * Adds a version (when the content hash changed) and updates the cached metadata, atomically.
 * `expectedLatest` guards against two concurrent edits both deriving the same next version.
 */
export async function addTemplateVersion<C>(
  db: Db,
  templateId: string,
  expectedLatest: string,
  meta: TemplateMeta,
  v: NewTemplateVersion<C> | null,
  now: number,
): Promise<TemplateRecord> {
  await db.transaction(async (trx) => {
    const row: Record<string, unknown> = {
      display_name: meta.displayName,
      description: meta.description,
      groups_json: JSON.stringify(meta.groups),
      updated_at: now,
    };
    if (v) {
      row.latest_version = v.version;
      row.latest_hash = v.contentHash;
    }
    const n = await trx('templates').where({ id: templateId, latest_version: expectedLatest }).whereNull('deleted_at').update(row);
    if (n !== 1) throw conflict('the template changed while this edit was being made; retry', { templateId });
    if (v) {
      await trx('template_versions').insert({
        id: v.versionId,
        template_id: templateId,
        version: v.version,
        content_hash: v.contentHash,
        content_json: JSON.stringify(v.content),
        created_by: v.createdBy,
        created_at: now,
      });
    }
  });
  return (await getTemplate(db, templateId))!;
}

export async function markTemplateDeleted(db: Db, id: string, now: number): Promise<void> {
  await db('templates').where({ id }).update({ active_name: null, deleted_at: now, updated_at: now });
}

/** Many templates by id, deleted ones included, in chunked queries. */
export async function getTemplatesByIds(db: Db, ids: readonly string[]): Promise<TemplateRecord[]> {
  const out: TemplateRecord[] = [];
  for (const part of chunks([...new Set(ids)])) out.push(...(await db('templates').whereIn('id', part)).map(templateFromRow));
  return out;
}

/** The content of each (template, version) pair that exists, keyed `<templateId>@<version>`. */
export async function getTemplateVersionContents(db: Db, pairs: readonly (readonly [templateId: string, version: string])[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const part of chunks(pairs, 100)) {
    const rows = await db('template_versions')
      .where((w) => {
        for (const [t, v] of part) w.orWhere((p) => p.where('template_id', t).andWhere('version', v));
      })
      .select('template_id', 'version', 'content_json');
    for (const r of rows) out.set(`${r.template_id as string}@${r.version as string}`, toJson(r.content_json, {}));
  }
  return out;
}
