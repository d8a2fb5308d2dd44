/**
 * Renders a space's template version into what Nomad needs: the job (parsed by Nomad's own
 * /v1/jobs/parse) and the volume specs. Secrets (protected variables, password parameters) are
 * decrypted only here, inside the activity, so they never enter workflow history: workflows pass
 * ids and versions, and each activity re-renders what it needs.
 */
import { KnotError, ErrorType, notFound } from '../core/errors';
import { renderTemplate, type RenderContext } from '../core/render';
import { parseVolumeDefinitions, type VolumeSpec } from '../core/volumes';
import { resolveTemplateRef } from '../core/versions';
import { decryptSecret, isEncrypted, variableAad } from '../core/crypto';
import type { TemplateContent } from '../core/template';
import { requireSpace, type Space } from '../store/spaces';
import { getTemplate, getTemplateVersion, listTemplateVersions, type TemplateRecord, type TemplateVersionRecord } from '../store/templates';
import { listVariables } from '../store/variables';
import { KNOT_SPACE_META, KNOT_VERSION_META } from '../nomad/meta';
import type { Job } from '../nomad/types';
import { getUser } from '../store/users';
import type { ActivityDeps } from './deps';

export interface RenderedSpace {
  space: Space;
  template: TemplateRecord;
  version: TemplateVersionRecord<TemplateContent>;
  /** null for manual templates */
  job: Job | null;
  jobId: string | null;
  volumes: VolumeSpec[];
}


/** Picks the version the space's ref resolves to now (or the exact one given). */
export async function resolveSpaceVersion(deps: ActivityDeps, space: Space, exactVersion?: string): Promise<{ template: TemplateRecord; version: TemplateVersionRecord<TemplateContent> }> {
  const template = await getTemplate(deps.db, space.templateId);
  if (!template || template.deletedAt) throw notFound('template', space.templateId);
  let versionName = exactVersion;
  if (!versionName) {
    const versions = await listTemplateVersions<TemplateContent>(deps.db, template.id);
    const resolved = resolveTemplateRef(versions.map((v) => v.version), space.templateRef);
    if (!resolved) {
      throw new KnotError(ErrorType.Validation, `template '${template.name}' has no version matching '${space.templateRef || 'latest'}'`, {
        errors: [{ path: 'templateVersion', message: `no version matches '${space.templateRef}'` }],
      });
    }
    versionName = resolved;
  }
  const version = await getTemplateVersion<TemplateContent>(deps.db, template.id, versionName);
  if (!version) throw notFound('template version', `${template.name}@${versionName}`);
  return { template, version };
}

export async function buildRenderContext(deps: ActivityDeps, space: Space, template: TemplateRecord): Promise<RenderContext> {
  const owner = await getUser(deps.db, space.ownerId);
  if (!owner) throw notFound('user', space.ownerId);
  const vars: Record<string, string> = {};
  for (const v of await listVariables(deps.db)) {
    vars[v.name] = v.protected ? decryptSecret(v.value, deps.settings.encryptKey, variableAad(v.id)) : v.value;
  }
  const param: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(space.parameters)) {
    param[k] = isEncrypted(v) ? decryptSecret(v, deps.settings.encryptKey) : v;
  }
  return {
    space: { id: space.id, name: space.name },
    user: { id: owner.id, username: owner.username, email: owner.email ?? '', timezone: owner.timezone || 'UTC' },
    server: { url: deps.settings.url, wildcard_domain: deps.settings.wildcardDomain, agent_endpoint: deps.settings.agentEndpoint },
    template: { id: template.id, name: template.name },
    nomad: { dc: deps.settings.nomadDatacenter, region: deps.settings.nomadRegion },
    var: vars,
    param,
  };
}

/** Parsed jobs by content, so prepare and register in one start parse once. */
const parsedJobCache = new Map<string, Job>();
const CACHE_LIMIT = 500;

async function parseJobCached(deps: ActivityDeps, hcl: string): Promise<Job> {
  const hit = parsedJobCache.get(hcl);
  if (hit) return structuredClone(hit);
  const job = await deps.nomad.parseJob(hcl);
  if (parsedJobCache.size >= CACHE_LIMIT) parsedJobCache.delete(parsedJobCache.keys().next().value as string);
  parsedJobCache.set(hcl, job);
  return structuredClone(job);
}

/** Renders job + volumes; parse errors from Nomad become non-retryable template_parse failures. */
export async function renderSpace(deps: ActivityDeps, spaceOrId: Space | string, exactVersion?: string): Promise<RenderedSpace> {
  const space = typeof spaceOrId === 'string' ? await requireSpace(deps.db, spaceOrId) : spaceOrId;
  const { template, version } = await resolveSpaceVersion(deps, space, exactVersion);
  const ctx = await buildRenderContext(deps, space, template);
  const content = version.content;
  const volumesYaml = content.volumes ?? '';
  const volumes = volumesYaml.trim() ? parseVolumeDefinitions(renderTemplate(volumesYaml, ctx, { escape: 'yaml', path: 'volumes' })) : [];
  if ((content.type ?? 'nomad') === 'manual' || !content.job) {
    return { space, template, version, job: null, jobId: null, volumes };
  }
  const hcl = renderTemplate(content.job, ctx, { escape: 'hcl', path: 'job' });
  let job: Job;
  try {
    job = await parseJobCached(deps, hcl);
  } catch (e) {
    if (e instanceof KnotError && e.type === ErrorType.NomadRequest) {
      throw new KnotError(ErrorType.TemplateParse, `the rendered job does not parse: ${(e.details.nomadMessage as string) ?? e.message}`, {
        errors: [{ path: 'job', message: String(e.details.nomadMessage ?? e.message) }],
      });
    }
    throw e;
  }
  const jobId = job.ID ?? job.Name;
  if (!jobId) throw new KnotError(ErrorType.TemplateParse, 'the rendered job has no id', { errors: [{ path: 'job', message: 'job has no name' }] });
  job.ID = jobId;
  job.Meta = { ...(job.Meta ?? {}), [KNOT_SPACE_META]: space.id, [KNOT_VERSION_META]: version.version };
  if (!job.Namespace) job.Namespace = deps.settings.nomadNamespace;
  return { space, template, version, job, jobId, volumes };
}
