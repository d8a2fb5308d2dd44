/**
 * Renders a space's template version into what Nomad needs: the job (parsed by Nomad's own
 * /v1/jobs/parse) and the volume specs. Secrets (protected variables, password parameters) are
 * decrypted only here, inside the activity, so they never enter workflow history: workflows pass
 * ids and versions, and each activity re-renders what it needs.
 */
import { KnotError, ErrorType, notFound } from '../core/errors';
import { AGENT_TOKEN_PLACEHOLDER, renderTemplate, type RenderContext } from '../core/render';
import { renderVolumeDefinitions, type VolumeSpec } from '../core/volumes';
import { resolveTemplateRef } from '../core/versions';
import type { TemplateContent } from '../core/template';
import type { Space, TemplateRecord, TemplateVersionRecord } from '../store/model';
import { loadRenderContext } from '../store/render-context';
import { KNOT_SPACE_META, KNOT_VERSION_META } from '../nomad/meta';
import type { Job } from '../nomad/types';
import type { ActivityDeps } from './deps';

export interface RenderedSpace {
  space: Space;
  template: TemplateRecord;
  version: TemplateVersionRecord<TemplateContent>;
  /** null for manual templates, and when only the volumes were rendered */
  job: Job | null;
  jobId: string | null;
  /** empty when only the job was rendered */
  volumes: VolumeSpec[];
}


/** Picks the version the space's ref resolves to now (or the exact one given). */
export async function resolveSpaceVersion(deps: ActivityDeps, space: Space, exactVersion?: string): Promise<{ template: TemplateRecord; version: TemplateVersionRecord<TemplateContent> }> {
  const template = await deps.store.templates.get(space.templateId);
  if (!template || template.deletedAt) throw notFound('template', space.templateId);
  let versionName = exactVersion;
  if (!versionName) {
    const versions = await deps.store.templates.listVersions<TemplateContent>(template.id);
    const resolved = resolveTemplateRef(versions.map((v) => v.version), space.templateRef);
    if (!resolved) {
      throw new KnotError(ErrorType.Validation, `template '${template.name}' has no version matching '${space.templateRef || 'latest'}'`, {
        errors: [{ path: 'templateVersion', message: `no version matches '${space.templateRef}'` }],
      });
    }
    versionName = resolved;
  }
  const version = await deps.store.templates.getVersion<TemplateContent>(template.id, versionName);
  if (!version) throw notFound('template version', `${template.name}@${versionName}`);
  return { template, version };
}

export async function buildRenderContext(deps: ActivityDeps, space: Space, template: TemplateRecord): Promise<RenderContext> {
  return loadRenderContext(deps.store, deps.settings, space, template);
}

export interface RenderSpaceOptions {
  /**
   * The real agent token for `${{ .space.agent_token }}`: only the activity that registers the job
   * passes it; every other render gets the placeholder (core/render.ts).
   */
  agentToken?: string;
  /**
   * Only this part: registering the job needs no volumes, creating a volume no job. Each part is a
   * render of its own (the volumes' YAML is parsed, rendered and parsed again, ~1 ms; the job is
   * rendered, parsed by Nomad or taken from the cache and copied); planning renders both.
   */
  only?: 'job' | 'volumes';
}

/** An error whose messages may quote the rendered job, with the token put back to the placeholder. */
function withoutToken(e: KnotError, token: string): KnotError {
  const scrub = (text: string) => text.split(token).join(AGENT_TOKEN_PLACEHOLDER);
  return new KnotError(e.type, scrub(e.message), {
    errors: e.errors.map((fe) => ({ ...fe, message: scrub(fe.message) })),
    retryable: e.retryable,
  });
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
export async function renderSpace(deps: ActivityDeps, spaceOrId: Space | string, exactVersion?: string, opts: RenderSpaceOptions = {}): Promise<RenderedSpace> {
  const space = typeof spaceOrId === 'string' ? await deps.store.spaces.require(spaceOrId) : spaceOrId;
  const { template, version } = await resolveSpaceVersion(deps, space, exactVersion);
  const ctx = await buildRenderContext(deps, space, template);
  if (opts.agentToken !== undefined) ctx.space.agent_token = opts.agentToken;
  const content = version.content;
  const volumesYaml = content.volumes ?? '';
  const volumes = opts.only !== 'job' && volumesYaml.trim() ? renderVolumeDefinitions(volumesYaml, ctx) : [];
  if ((content.type ?? 'nomad') === 'manual' || !content.job || opts.only === 'volumes') {
    return { space, template, version, job: null, jobId: null, volumes };
  }
  const hcl = renderTemplate(content.job, ctx, { escape: 'hcl', path: 'job' });
  // a job that carries a real token is parsed uncached: no token stays in memory past this render
  const token = opts.agentToken !== undefined && opts.agentToken !== '' && hcl.includes(opts.agentToken) ? opts.agentToken : null;
  let job: Job;
  try {
    job = token ? await deps.nomad.parseJob(hcl) : await parseJobCached(deps, hcl);
  } catch (e) {
    let error = e;
    if (e instanceof KnotError && e.type === ErrorType.NomadRequest) {
      error = new KnotError(ErrorType.TemplateParse, `the rendered job does not parse: ${(e.details.nomadMessage as string) ?? e.message}`, {
        errors: [{ path: 'job', message: String(e.details.nomadMessage ?? e.message) }],
      });
    }
    // a parse error may quote the job's source: the token must not reach the workflow's history
    throw token && error instanceof KnotError ? withoutToken(error, token) : error;
  }
  const jobId = job.ID ?? job.Name;
  if (!jobId) throw new KnotError(ErrorType.TemplateParse, 'the rendered job has no id', { errors: [{ path: 'job', message: 'job has no name' }] });
  job.ID = jobId;
  job.Meta = { ...(job.Meta ?? {}), [KNOT_SPACE_META]: space.id, [KNOT_VERSION_META]: version.version };
  if (!job.Namespace) job.Namespace = deps.settings.nomadNamespace;
  return { space, template, version, job, jobId, volumes };
}
