/**
 * A template's content as the API accepts it, and every pure check run when it is saved.
 *
 * Durations are strings of hours, minutes and seconds (`8h`, `90m`, `1h30m`, `45s`): readable in
 * YAML/JSON and unambiguous, unlike a bare number. A `schedule` lists the allowed hours per weekday;
 * a weekday that is not listed allows no hours; no `schedule` at all means always allowed. Windows
 * are `from` (inclusive) to `to` (exclusive), `to` may be `24:00`; a window across midnight is
 * written as two windows.
 */
import { z } from 'zod';
import { ErrorType, KnotError, type FieldError } from './errors';
import { NAME_PATTERNS, nameString } from './names';
import { checkParameterDefinitions, optionalParameterNames, parameterDefSchema, zodPath } from './parameters';
import { checkTemplate, renderTemplate } from './render';
import { sampleRenderContext } from './render-sample';
import { DURATION, DURATION_HINT } from './duration';
import { VERSION_PATTERN } from './versions';
import { parseVolumeDefinitions } from './volumes';

export { parseDuration } from './duration';

// a pattern, not a refine: the OpenAPI document carries it, so what it accepts is what is saved
const duration = z.string().regex(DURATION, DURATION_HINT);

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clock = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM (00:00 to 24:00)');
const windowSchema = z
  .object({ from: clock, to: clock })
  .strict()
  .refine((w) => w.from < w.to, { message: 'from must be before to (split a window across midnight in two)', path: ['to'] });

export const scheduleSchema = z.object(Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(windowSchema).max(24).optional()])) as Record<Weekday, z.ZodOptional<z.ZodArray<typeof windowSchema>>>).strict();
export type Schedule = z.infer<typeof scheduleSchema>;

/**
 * A port of the space the template names: `public` lets anyone (no sign-in) reach it over HTTP
 * through the port proxy while the space runs; every other port stays the owner's and admins'.
 */
export const templatePortSchema = z
  .object({
    port: z.number().int().min(1).max(65535),
    name: z.string().min(1).max(64).optional(),
    public: z.boolean().optional(),
  })
  .strict();
export type TemplatePort = z.infer<typeof templatePortSchema>;

const portsSchema = z
  .array(templatePortSchema)
  .max(64)
  .superRefine((ports, ctx) => {
    const seen = new Set<number>();
    ports.forEach((p, i) => {
      if (seen.has(p.port)) ctx.addIssue({ code: 'custom', path: [i, 'port'], message: `port ${p.port} is listed more than once` });
      seen.add(p.port);
    });
  });

/** The ports a template's content marks public (anything unparsable marks none). */
export function publicPortsOf(content: Readonly<Record<string, unknown>> | null | undefined): number[] {
  const parsed = portsSchema.safeParse(content?.ports ?? []);
  return parsed.success ? parsed.data.filter((p) => p.public === true).map((p) => p.port) : [];
}

const MAX_JOB_BYTES = 1024 * 1024;
const MAX_VOLUMES_BYTES = 256 * 1024;

export const templateContentSchema = z
  .object({
    name: nameString('template'),
    displayName: z.string().max(200).optional(),
    description: z.string().max(10_000).optional(),
    type: z.enum(['nomad', 'manual']).default('nomad'),
    job: z.string().max(MAX_JOB_BYTES).optional(),
    volumes: z.string().max(MAX_VOLUMES_BYTES).optional(),
    groups: z.array(z.string().regex(NAME_PATTERNS.group, 'must be a group name')).max(100).optional(),
    parameters: z.array(parameterDefSchema).max(100).optional(),
    maxUptime: duration.optional(),
    schedule: scheduleSchema.optional(),
    idleTimeout: duration.optional(),
    /** a space stopped this long is deleted with its volumes (core/dormancy.ts); absent: never */
    deleteAfter: duration.optional(),
    /** false: spaces of this template may not carry an autostart (core/autostart.ts) */
    autostart: z.boolean().optional(),
    startTimeout: duration.default('5m'),
    ports: portsSchema.optional(),
    /** what a running space costs against its owner's computeUnits quota (core/quotas.ts); default 1 */
    computeUnits: z.number().int().min(0).max(1_000_000).optional(),
    /** what its volumes cost against storageUnits; default: their capacity_min summed, in GiB rounded up */
    storageUnits: z.number().int().min(0).max(1_000_000).optional(),
    version: z.string().regex(VERSION_PATTERN, 'must be a version X.Y.Z such as 1.2.0').optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.type === 'nomad' && (t.job === undefined || t.job.trim() === '')) {
      ctx.addIssue({ code: 'custom', path: ['job'], message: 'is required for nomad templates' });
    }
    if (t.type === 'manual') {
      if (t.job !== undefined) ctx.addIssue({ code: 'custom', path: ['job'], message: 'is not allowed for manual templates' });
      if (t.volumes !== undefined) ctx.addIssue({ code: 'custom', path: ['volumes'], message: 'is not allowed for manual templates' });
    }
  })
  // the same two rules in JSON Schema, which a refinement does not reach: the OpenAPI document
  // says what the server checks (a nomad template, the default type, needs a job that is not blank)
  .meta({
    if: { properties: { type: { const: 'manual' } }, required: ['type'] },
    then: { not: { anyOf: [{ required: ['job'] }, { required: ['volumes'] }] } },
    else: { properties: { job: { pattern: '\\S' } }, required: ['job'] },
  });

export type TemplateContent = z.infer<typeof templateContentSchema>;
export type TemplateContentInput = z.input<typeof templateContentSchema>;

/**
 * Every pure save-time problem with a template, as FieldErrors (empty when it may be saved):
 * the schema; parameter definitions (`parameters[2].options`); job and volume expressions only
 * using known names (`.var.X` in `knownVarNames`, `.param.X` declared, optional parameters behind
 * `| default`); the job rendering as HCL with a sample context; the volumes rendering with a sample
 * context and parsing as volume definitions. Whether Nomad accepts the job is checked elsewhere.
 */
export function checkTemplateContent(content: unknown, knownVarNames: Iterable<string>): FieldError[] {
  const parsed = templateContentSchema.safeParse(content);
  if (!parsed.success) return parsed.error.issues.map((i) => ({ path: zodPath('', i.path) || '(template)', message: i.message }));
  const t = parsed.data;
  const errors: FieldError[] = [];
  const params = t.parameters ?? [];
  const paramErrors = checkParameterDefinitions(params, 'parameters');
  errors.push(...paramErrors);

  const vars = [...knownVarNames];
  const known = { vars, params: params.map((p) => p.variable), optionalParams: optionalParameterNames(params) };
  const ctx = sampleRenderContext(t.name, { parameters: paramErrors.length === 0 ? params : [], varNames: vars });

  if (t.job !== undefined) {
    const jobErrors = checkTemplate(t.job, known, { path: 'job' });
    errors.push(...jobErrors);
    if (jobErrors.length === 0 && paramErrors.length === 0) errors.push(...renderErrors(() => renderTemplate(t.job ?? '', ctx, { escape: 'hcl', path: 'job' })));
  }
  if (t.volumes !== undefined) {
    const volumeErrors = checkTemplate(t.volumes, known, { format: 'yaml', path: 'volumes' });
    errors.push(...volumeErrors);
    if (volumeErrors.length === 0 && paramErrors.length === 0) {
      errors.push(
        ...renderErrors(() => parseVolumeDefinitions(renderTemplate(t.volumes ?? '', ctx, { escape: 'yaml', path: 'volumes' }))),
      );
    }
  }
  return errors;
}

function renderErrors(fn: () => unknown): FieldError[] {
  try {
    fn();
    return [];
  } catch (e) {
    if (e instanceof KnotError) return e.errors.length > 0 ? e.errors : [{ path: '(template)', message: e.message }];
    throw e;
  }
}

/** Parses and checks a template, or throws KnotError(Validation) listing every problem. */
export function parseTemplateContent(content: unknown, knownVarNames: Iterable<string>): TemplateContent {
  const errors = checkTemplateContent(content, knownVarNames);
  if (errors.length > 0) {
    throw new KnotError(ErrorType.Validation, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  }
  return templateContentSchema.parse(content);
}

/**
 * Whether `now` falls in an allowed window of `schedule`, on the wall clock of `timezone` (IANA
 * name). No schedule means always allowed. Throws KnotError(Validation) for an unknown time zone.
 */
export function isWithinSchedule(schedule: Schedule | undefined, now: Date, timezone: string): boolean {
  if (!schedule) return true;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  } catch {
    throw new KnotError(ErrorType.Validation, `unknown time zone '${timezone}'`, { errors: [{ path: 'timezone', message: 'must be an IANA time zone such as Europe/London' }] });
  }
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').slice(0, 3).toLowerCase() as Weekday;
  const hhmm = `${part('hour').padStart(2, '0')}:${part('minute').padStart(2, '0')}`;
  return (schedule[day] ?? []).some((w) => w.from <= hhmm && hhmm < w.to);
}
