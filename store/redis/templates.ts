/**
 * Templates: `template:<id>` (metadata with the latest version and hash), its immutable versions
 * in the hash `template:<id>:versions` (version → JSON), unique `name:template:<name>` while the
 * template lives, and the set `templates` (deleted ones included).
 */
import { alreadyInUse, conflict } from '../../core/errors';
import type { NewTemplateVersion, TemplateMeta, TemplateRecord, TemplateVersionRecord } from '../model';
import type { TemplateRepository } from '../store';
import { reindex, type IndexEntry } from './indexes';
import type { Keys } from './keys';
import { parseJson, readDoc, readDocs, writeDoc, type Kv, type KvTx } from './kv';

type VersionDoc = TemplateVersionRecord<unknown>;

function versionOf<C>(d: VersionDoc): TemplateVersionRecord<C> {
  return { id: d.id, templateId: d.templateId, version: d.version, contentHash: d.contentHash, content: d.content as C, createdBy: d.createdBy, createdAt: d.createdAt };
}

/** oldest first, as SQL's ORDER BY created_at, id */
const oldestFirst = (a: VersionDoc, b: VersionDoc) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const byName = (a: TemplateRecord, b: TemplateRecord) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byId = (a: TemplateRecord, b: TemplateRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function redisTemplates(kv: Kv, keys: Keys): TemplateRepository {
  const entriesOf = (t: TemplateRecord): IndexEntry[] => [
    ...(t.deletedAt === null ? [{ kind: 'unique', key: keys.templateByName(t.name), id: t.id } as const] : []),
    { kind: 'set', key: keys.templates, member: t.id },
  ];

  async function versions(templateId: string): Promise<VersionDoc[]> {
    const key = keys.templateVersions(templateId);
    const stored = [...(await kv.read.hgetall(key)).values()].map((text) => parseJson<VersionDoc>(text, key) as VersionDoc);
    return stored.sort(oldestFirst);
  }

  /** stores a version; the (template, version) pair is unique */
  async function addVersionDoc<C>(tx: KvTx, templateId: string, v: NewTemplateVersion<C>, now: number): Promise<void> {
    const key = keys.templateVersions(templateId);
    if ((await tx.hget(key, v.version)) !== null) throw alreadyInUse(`template version '${v.version}' already exists`, 'version');
    const doc: VersionDoc = { id: v.versionId, templateId, version: v.version, contentHash: v.contentHash, content: v.content, createdBy: v.createdBy, createdAt: now };
    tx.hset(key, v.version, JSON.stringify(doc));
  }

  return {
    get: (id) => readDoc<TemplateRecord>(kv.read, keys.template(id)),

    getByName: async (name) => {
      const id = await kv.read.get(keys.templateByName(name));
      const t = id === null ? null : await readDoc<TemplateRecord>(kv.read, keys.template(id));
      return t && t.name === name && t.deletedAt === null ? t : null;
    },

    list: async () => {
      const ids = await kv.read.smembers(keys.templates);
      const all = await readDocs<TemplateRecord>(kv.read, ids.map(keys.template));
      return all.filter((t): t is TemplateRecord => t !== null && t.deletedAt === null).sort(byName);
    },

    getByIds: async (ids) => {
      const all = await readDocs<TemplateRecord>(kv.read, [...new Set(ids)].map(keys.template));
      return all.filter((t): t is TemplateRecord => t !== null).sort(byId);
    },

    listVersions: async <C>(templateId: string) => (await versions(templateId)).map((d) => versionOf<C>(d)),

    getVersion: async <C>(templateId: string, version: string) => {
      const key = keys.templateVersions(templateId);
      const d = parseJson<VersionDoc>(await kv.read.hget(key, version), key);
      return d ? versionOf<C>(d) : null;
    },

    versionContents: async (pairs) => {
      const out = new Map<string, Record<string, unknown>>();
      const found = await Promise.all(pairs.map(([t, v]) => kv.read.hget(keys.templateVersions(t), v)));
      pairs.forEach(([t, v], i) => {
        const d = parseJson<VersionDoc>(found[i] ?? null, keys.templateVersions(t));
        if (d) out.set(`${t}@${v}`, (d.content ?? {}) as Record<string, unknown>);
      });
      return out;
    },

    insert: <C>(id: string, meta: TemplateMeta, first: NewTemplateVersion<C>, now: number) =>
      kv.write(async (tx) => {
        const [taken, existing] = await Promise.all([tx.get(keys.templateByName(meta.name)), tx.get(keys.template(id))]);
        if (taken !== null || existing !== null) throw alreadyInUse(`a template named '${meta.name}' already exists`, 'name');
        const t: TemplateRecord = {
          id,
          name: meta.name,
          displayName: meta.displayName,
          description: meta.description,
          type: meta.type,
          groups: meta.groups,
          latestVersion: first.version,
          latestHash: first.contentHash,
          createdBy: first.createdBy,
          createdAt: now,
          updatedAt: now,
          deletedAt: null,
        };
        writeDoc(tx, keys.template(id), t);
        reindex(tx, [], entriesOf(t));
        await addVersionDoc(tx, id, first, now);
        return t;
      }),

    addVersion: <C>(templateId: string, expectedLatest: string, meta: TemplateMeta, next: NewTemplateVersion<C> | null, now: number) =>
      kv.write(async (tx) => {
        const before = await readDoc<TemplateRecord>(tx, keys.template(templateId));
        if (!before || before.deletedAt !== null || before.latestVersion !== expectedLatest) {
          throw conflict('the template changed while this edit was being made; retry', { templateId });
        }
        // the name and type never change here, as in SQL: only what an edit may change
        const after: TemplateRecord = {
          ...before,
          displayName: meta.displayName,
          description: meta.description,
          groups: meta.groups,
          ...(next ? { latestVersion: next.version, latestHash: next.contentHash } : {}),
          updatedAt: now,
        };
        writeDoc(tx, keys.template(templateId), after);
        if (next) await addVersionDoc(tx, templateId, next, now);
        return after;
      }),

    markDeleted: (id: string, now: number) =>
      kv.write(async (tx) => {
        const before = await readDoc<TemplateRecord>(tx, keys.template(id));
        if (!before) return;
        const after: TemplateRecord = { ...before, deletedAt: now, updatedAt: now };
        writeDoc(tx, keys.template(id), after);
        reindex(tx, entriesOf(before), entriesOf(after));
      }),
  };
}
