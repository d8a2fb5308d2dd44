/**
 * Templates and their immutable versions on SQL. The template row caches the latest version and
 * hash; every version row holds the full content as JSON.
 */
import { chunks } from '../../core/batches';
import { alreadyInUse, conflict } from '../../core/errors';
import type { NewTemplateVersion, TemplateRecord, TemplateVersionRecord } from '../model';
import type { TemplateRepository } from '../store';
import { isUniqueViolation, toJson, type Queryable } from './db';
import { selectFirst, selectRows } from './fast-sql';

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

function versionRow<C>(templateId: string, v: NewTemplateVersion<C>, now: number): Record<string, unknown> {
  return { id: v.versionId, template_id: templateId, version: v.version, content_hash: v.contentHash, content_json: JSON.stringify(v.content), created_by: v.createdBy, created_at: now };
}

export function sqlTemplates(db: Queryable): TemplateRepository {
  const templates: TemplateRepository = {
    async get(id) {
      // read by every space view: hand-written SQL on the fast path (fast-sql.ts)
      const r = await selectFirst(db, 'select * from `templates` where `id` = ? limit 1', [id]);
      return r ? templateFromRow(r) : null;
    },

    async getByName(name) {
      const r = await selectFirst(db, 'select * from `templates` where `active_name` = ? limit 1', [name]);
      return r ? templateFromRow(r) : null;
    },

    async list() {
      const rows = await db('templates').whereNull('deleted_at').orderBy('name');
      return rows.map(templateFromRow);
    },

    async getByIds(ids) {
      const out: TemplateRecord[] = [];
      for (const part of chunks([...new Set(ids)])) out.push(...(await db('templates').whereIn('id', part)).map(templateFromRow));
      return out;
    },

    async listVersions<C>(templateId: string) {
      const rows = await selectRows(db, 'select * from `template_versions` where `template_id` = ? order by `created_at` asc, `id` asc', [templateId]);
      return rows.map((r) => versionFromRow<C>(r));
    },

    async getVersion<C>(templateId: string, version: string) {
      // every lifecycle operation reads the version it applies (fast-sql.ts)
      const r = await selectFirst(db, 'select * from `template_versions` where `template_id` = ? and `version` = ? limit 1', [templateId, version]);
      return r ? versionFromRow<C>(r) : null;
    },

    async versionContents(pairs) {
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
    },

    async insert(id, meta, first, now) {
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
            latest_version: first.version,
            latest_hash: first.contentHash,
            created_by: first.createdBy,
            created_at: now,
            updated_at: now,
          });
          await trx('template_versions').insert(versionRow(id, first, now));
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyInUse(`a template named '${meta.name}' already exists`, 'name');
        throw e;
      }
      return (await templates.get(id))!;
    },

    async addVersion(templateId, expectedLatest, meta, next, now) {
      await db.transaction(async (trx) => {
        const row: Record<string, unknown> = { display_name: meta.displayName, description: meta.description, groups_json: JSON.stringify(meta.groups), updated_at: now };
        if (next) {
          row.latest_version = next.version;
          row.latest_hash = next.contentHash;
        }
        const n = await trx('templates').where({ id: templateId, latest_version: expectedLatest }).whereNull('deleted_at').update(row);
        if (n !== 1) throw conflict('the template changed while this edit was being made; retry', { templateId });
        if (next) {
          try {
            await trx('template_versions').insert(versionRow(templateId, next, now));
          } catch (e) {
            if (isUniqueViolation(e)) throw alreadyInUse(`template version '${next.version}' already exists`, 'version');
            throw e;
          }
        }
      });
      return (await templates.get(templateId))!;
    },

    async markDeleted(id, now) {
      await db('templates').where({ id }).update({ active_name: null, deleted_at: now, updated_at: now });
    },
  };
  return templates;
}
