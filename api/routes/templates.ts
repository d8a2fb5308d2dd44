/**
 * Templates: admins write, users read the ones their groups allow (others' → 404). Every content
 * change is a new immutable version (core/versions decides the bump; an identical save makes none).
 */
import { applyPatch, JsonPatchError, type Operation as JsonPatchOperation } from 'fast-json-patch';
import * as mergePatch from 'json-merge-patch';
import { ErrorType, KnotError, notFound } from '../../core/errors';
import type { TemplateContent } from '../../core/template';
import { contentHash, nextVersion } from '../../core/versions';
import type { TemplateMeta, TemplateRecord, TemplateVersionRecord } from '../../store/model';
import type { Actor, Services } from '../context';
import { templateAllows } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, noContent, problems } from '../schemas/common';
import {
  jsonPatchBody,
  mergePatchBody,
  templateBody,
  templateList,
  templateView,
  validateTemplateBody,
  validationResult,
  versionList,
} from '../schemas/templates';
import { templateJson, versionSummaryJson, type StoredTemplateContent } from '../views';
import { checkTemplateInput, requireValidTemplate } from '../template-checks';
import { announceTemplateVersion } from '../update-events';

const BASE = '/api/v1/templates';
const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
/** Fields of the template document that are identity or history, never edited by a patch. */
const READ_ONLY = ['id', 'name', 'version', 'versions', 'contentHash', 'createdAt', 'updatedAt'] as const;

type StoredContent = StoredTemplateContent & Record<string, unknown>;

/** What a version stores: the content without identity (name) and the explicit version. */
function storedContent(c: TemplateContent): StoredContent {
  const { name: _name, version: _version, ...rest } = c;
  return rest as StoredContent;
}

function metaOf(c: TemplateContent): TemplateMeta {
  return { name: c.name, displayName: c.displayName ?? '', description: c.description ?? '', type: c.type, groups: c.groups ?? [] };
}

async function visibleTemplate(svc: Services, actor: Actor, name: string): Promise<TemplateRecord> {
  const t = await svc.store.templates.getByName(name);
  if (!t || !templateAllows(actor, t.groups)) throw notFound('template', name);
  return t;
}

/** The API's view of a template: its latest content and every version's summary. */
export async function fullView(svc: Services, t: TemplateRecord) {
  const versions = await svc.store.templates.listVersions<StoredTemplateContent>(t.id);
  const latest = versions.find((v) => v.version === t.latestVersion);
  if (!latest) throw new KnotError(ErrorType.Internal, `template ${t.name} has no version ${t.latestVersion}`);
  return templateJson(t, latest, versions as TemplateVersionRecord[]);
}

async function latestContent(svc: Services, t: TemplateRecord): Promise<StoredContent> {
  const versions = await svc.store.templates.listVersions<StoredContent>(t.id);
  return versions.find((v) => v.version === t.latestVersion)?.content ?? {};
}

/** Saves a validated edit of an existing template: a new version when the content changed. */
async function saveEdit(svc: Services, actor: Actor, t: TemplateRecord, raw: unknown): Promise<{ template: TemplateRecord; created: string | null }> {
  const content = await requireValidTemplate(svc, raw);
  if (content.name !== t.name) {
    throw new KnotError(ErrorType.Validation, 'templates cannot be renamed', { errors: [{ path: 'name', message: `must be '${t.name}' (templates cannot be renamed)` }] });
  }
  const previous = await latestContent(svc, t);
  const next = nextVersion(t.latestVersion, previous, { ...storedContent(content), ...(content.version ? { version: content.version } : {}) });
  if (!next) return { template: t, created: null };
  const stored = storedContent(content);
  const updated = await svc.store.templates.addVersion(t.id,
    t.latestVersion,
    metaOf(content),
    { versionId: svc.newId(), version: next.version, contentHash: contentHash(stored), content: stored, createdBy: actor.user.id },
    svc.now(),
  );
  return { template: updated, created: next.version };
}

/** Validates and stores a new template as its first version (409 when the name is taken). */
export async function createTemplate(svc: Services, actor: Actor, raw: unknown): Promise<TemplateRecord> {
  const content = await requireValidTemplate(svc, raw);
  if (await svc.store.templates.getByName(content.name)) {
    throw new KnotError(ErrorType.Conflict, `a template named '${content.name}' already exists`, { errors: [{ path: 'name', message: 'already in use' }] });
  }
  const first = nextVersion(null, null, { ...storedContent(content), ...(content.version ? { version: content.version } : {}) });
  const stored = storedContent(content);
  return svc.store.templates.insert(svc.newId(),
    metaOf(content),
    { versionId: svc.newId(), version: first?.version ?? '1.0.0', contentHash: contentHash(stored), content: stored, createdBy: actor.user.id },
    svc.now(),
  );
}

function patchPathError(path: string, message: string): KnotError {
  return new KnotError(ErrorType.Validation, `${path}: ${message}`, { errors: [{ path, message }] });
}

function touchesReadOnly(pointer: string | undefined): string | null {
  if (pointer === undefined) return null;
  const first = pointer.split('/')[1];
  return first !== undefined && (READ_ONLY as readonly string[]).includes(first.replace(/~1/g, '/').replace(/~0/g, '~')) ? `/${first}` : null;
}

/** RFC 6902 against the template document; identity and history paths are refused (400 naming them). */
function applyJsonPatch(doc: Record<string, unknown>, ops: JsonPatchOperation[]): unknown {
  ops.forEach((op, i) => {
    if (op.op === 'test') return;
    const bad = touchesReadOnly(op.path) ?? touchesReadOnly((op as { from?: string }).from);
    if (bad) throw patchPathError(bad, `is read-only (operation ${i}: ${op.op} ${op.path}); templates cannot be renamed and versions are immutable`);
    if ((op.op === 'add' || op.op === 'replace') && !('value' in op)) throw patchPathError(`[${i}].value`, 'is required');
  });
  try {
    return applyPatch(doc, ops, true, false, true).newDocument;
  } catch (e) {
    if (e instanceof JsonPatchError) {
      const op = ops[e.index ?? 0];
      if (e.name === 'TEST_OPERATION_FAILED') {
        throw new KnotError(ErrorType.Conflict, `test operation ${e.index ?? 0} failed at ${op?.path ?? ''}: the template has changed`, { details: { operation: e.index } });
      }
      throw new KnotError(ErrorType.Validation, `JSON Patch operation ${e.index ?? 0} (${op?.op ?? '?'} ${op?.path ?? ''}) cannot be applied: ${e.message.split('\n')[0]}`, {
        errors: [{ path: op?.path ?? `[${e.index ?? 0}]`, message: e.message.split('\n')[0] ?? 'cannot be applied' }],
      });
    }
    throw e;
  }
}

function applyMergePatch(doc: Record<string, unknown>, patch: Record<string, unknown>): unknown {
  for (const key of Object.keys(patch)) {
    if (key === 'name' && patch.name === doc.name) continue;
    if ((READ_ONLY as readonly string[]).includes(key)) throw patchPathError(`/${key}`, 'is read-only; templates cannot be renamed and versions are immutable');
  }
  return mergePatch.apply(structuredClone(doc), patch);
}

export const templateRoutes: RouteDef[] = [
  defineRoute({
    method: 'post',
    path: `${BASE}/validate`,
    tag: 'templates',
    summary: 'Check a template (render with a sample context, Nomad parse) without saving it',
    auth: 'admin',
    body: { 'application/json': validateTemplateBody },
    responses: { 200: { description: '`valid` and every problem found', schema: validationResult }, ...problems(400, 403, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, body }) {
      const input = { name: 'validate-sample', ...body };
      const check = await checkTemplateInput(svc, input);
      return { status: 200, body: { valid: check.errors.length === 0, errors: check.errors } };
    },
  }),
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'templates',
    summary: 'Templates the caller may use (admins: all)',
    auth: 'user',
    responses: { 200: { description: 'templates', schema: templateList }, ...problems(...AUTH_PROBLEMS) },
    async handler({ svc, actor }) {
      const visible = (await svc.store.templates.list()).filter((t) => templateAllows(actor, t.groups));
      return { status: 200, body: { items: await Promise.all(visible.map((t) => fullView(svc, t))) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'templates',
    summary: 'Create a template (version 1.0.0 unless `version` says otherwise)',
    auth: 'admin',
    body: { 'application/json': templateBody },
    audit: { action: 'template.create', resourceType: 'template' },
    responses: { 201: { description: 'created', schema: templateView }, ...problems(400, 403, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, body, audit }) {
      audit.resourceId = body.name;
      const t = await createTemplate(svc, actor, body);
      audit.detail = { version: t.latestVersion };
      return { status: 201, body: await fullView(svc, t), headers: { Location: `${BASE}/${t.name}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:name`,
    tag: 'templates',
    summary: 'One template with its versions summary',
    auth: 'user',
    responses: { 200: { description: 'the template', schema: templateView }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      return { status: 200, body: await fullView(svc, await visibleTemplate(svc, actor, params.name ?? '')) };
    },
  }),
  defineRoute({
    method: 'put',
    path: `${BASE}/:name`,
    tag: 'templates',
    summary: 'Replace a template; a new version only when the content changed',
    auth: 'admin',
    body: { 'application/json': templateBody },
    audit: { action: 'template.update', resourceType: 'template' },
    responses: { 200: { description: 'the template (X-Knot-Version-Created says whether a version was made)', schema: templateView }, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, body, audit }) {
      const t = await visibleTemplate(svc, actor, params.name ?? '');
      audit.resourceId = t.id;
      const { template, created } = await saveEdit(svc, actor, t, body);
      audit.detail = { versionCreated: created };
      if (created) await announceTemplateVersion(svc, template.id);
      return { status: 200, body: await fullView(svc, template), headers: { 'X-Knot-Version-Created': created ?? 'none' } };
    },
  }),
  defineRoute<unknown>({
    method: 'patch',
    path: `${BASE}/:name`,
    tag: 'templates',
    summary: 'Edit a template with RFC 6902 JSON Patch or RFC 7386 JSON Merge Patch',
    description: 'Paths /name, /id, /version, /versions (identity and history) are read-only.',
    auth: 'admin',
    body: { [JSON_PATCH]: jsonPatchBody, [MERGE_PATCH]: mergePatchBody },
    audit: { action: 'template.update', resourceType: 'template' },
    responses: { 200: { description: 'the template', schema: templateView }, ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, body, contentType, audit }) {
      const t = await visibleTemplate(svc, actor, params.name ?? '');
      audit.resourceId = t.id;
      const versions = await svc.store.templates.listVersions(t.id);
      const doc: Record<string, unknown> = {
        ...(await latestContent(svc, t)),
        id: t.id,
        name: t.name,
        version: t.latestVersion,
        contentHash: t.latestHash,
        versions: versions.map(versionSummaryJson),
      };
      const patched = contentType === JSON_PATCH ? applyJsonPatch(doc, body as JsonPatchOperation[]) : applyMergePatch(doc, body as Record<string, unknown>);
      if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw patchPathError('', 'the patched template must be an object');
      const next: Record<string, unknown> = { ...(patched as Record<string, unknown>) };
      for (const k of READ_ONLY) if (k !== 'name') delete next[k];
      const { template, created } = await saveEdit(svc, actor, t, next);
      audit.detail = { versionCreated: created, patch: contentType };
      if (created) await announceTemplateVersion(svc, template.id);
      return { status: 200, body: await fullView(svc, template), headers: { 'X-Knot-Version-Created': created ?? 'none' } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:name`,
    tag: 'templates',
    summary: 'Delete a template no live space uses (its name becomes free)',
    auth: 'admin',
    audit: { action: 'template.delete', resourceType: 'template' },
    responses: { 204: noContent, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      const t = await visibleTemplate(svc, actor, params.name ?? '');
      audit.resourceId = t.id;
      const inUse = await svc.store.spaces.countUsingTemplate(t.id);
      if (inUse > 0) throw new KnotError(ErrorType.Conflict, `template '${t.name}' is used by ${inUse} space(s)`, { details: { spaces: inUse } });
      await svc.store.templates.markDeleted(t.id, svc.now());
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:name/versions`,
    tag: 'templates',
    summary: 'Every version of a template with its content (oldest first)',
    auth: 'user',
    responses: { 200: { description: 'versions', schema: versionList }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const t = await visibleTemplate(svc, actor, params.name ?? '');
      const versions = await svc.store.templates.listVersions(t.id);
      return { status: 200, body: { items: versions.map((v) => ({ ...versionSummaryJson(v), content: v.content })) } };
    },
  }),
];
