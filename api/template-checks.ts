/**
 * Everything a template must pass before it is stored (and what POST /templates/validate reports):
 * the content schema, core's save-time checks (parameters, known names, rendering job and volumes
 * with a sample context), the groups it names existing, and Nomad parsing the rendered job. No
 * side effects: nothing here writes anything. Problems in the job or volumes text carry the `line`
 * and `column` in the template where they are (core/diagnostics), for the web editor.
 */
import { hclDiagnostics, placeTemplateErrors, templatePosition } from '../core/diagnostics';
import { ErrorType, KnotError, type ErrorTypeName, type FieldError } from '../core/errors';
import { renderTemplateMapped } from '../core/render';
import { sampleRenderContext } from '../core/render-sample';
import { checkTemplateContent, templateContentSchema, type TemplateContent } from '../core/template';
import type { Services } from './context';
import { zodFieldErrors } from './validate';

export interface TemplateCheck {
  content: TemplateContent | null;
  errors: FieldError[];
  /** the problem type a save answers with when `errors` is not empty */
  kind: ErrorTypeName;
}

function isNomadRejection(e: unknown): e is KnotError {
  return e instanceof KnotError && e.type === ErrorType.NomadRequest;
}

export async function checkTemplateInput(svc: Services, raw: unknown): Promise<TemplateCheck> {
  const parsed = templateContentSchema.safeParse(raw);
  if (!parsed.success) return { content: null, errors: zodFieldErrors(parsed.error), kind: ErrorType.Validation };
  const content = parsed.data;

  const varNames = (await svc.store.variables.list()).map((v) => v.name);
  const coreErrors = checkTemplateContent(raw, varNames);
  if (coreErrors.length) {
    const rendering = coreErrors.some((e) => e.path.startsWith('job') || e.path.startsWith('volumes'));
    return { content, errors: placeTemplateErrors(coreErrors, content), kind: rendering ? ErrorType.TemplateRender : ErrorType.Validation };
  }

  const groups = content.groups ?? [];
  const known = new Set((await svc.store.groups.getByNames(groups)).map((g) => g.name));
  const groupErrors = groups.flatMap((g, i) => (known.has(g) ? [] : [{ path: `groups[${i}]`, message: `unknown group '${g}'` }]));
  if (groupErrors.length) return { content, errors: groupErrors, kind: ErrorType.Validation };

  if (content.type === 'nomad' && content.job !== undefined) {
    const ctx = sampleRenderContext(content.name, { parameters: content.parameters ?? [], varNames });
    const job = content.job;
    const rendered = renderTemplateMapped(job, ctx, { escape: 'hcl', path: 'job' });
    try {
      await svc.nomad.parseJob(rendered.text);
    } catch (e) {
      // Nomad saying no (4xx/validation) is the template's fault; Nomad being down is a 503
      if (isNomadRejection(e)) {
        const nomadMessage = (typeof e.details.nomadMessage === 'string' ? e.details.nomadMessage : e.message).trim();
        // positions in the rendered job, told as the template's `line:column` like the renderer's own problems
        const placed = hclDiagnostics(nomadMessage).map((d) => {
          const at = templatePosition(job, rendered.text, rendered.spans, d);
          return { path: 'job', message: `Nomad cannot parse the rendered job: ${at.line}:${at.column}: ${d.message}`, ...at };
        });
        const errors = placed.length ? placed : [{ path: 'job', message: `Nomad cannot parse the rendered job: ${nomadMessage}` }];
        return { content, errors, kind: ErrorType.TemplateParse };
      }
      throw e;
    }
  }
  return { content, errors: [], kind: ErrorType.Validation };
}

/** Like checkTemplateInput, but throws the problem a save answers with. */
export async function requireValidTemplate(svc: Services, raw: unknown): Promise<TemplateContent> {
  const check = await checkTemplateInput(svc, raw);
  if (check.errors.length || !check.content) {
    const summary = check.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new KnotError(check.kind, `template is not valid: ${summary}`, { errors: check.errors });
  }
  return check.content;
}
