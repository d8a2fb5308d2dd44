/**
 * Typed template parameters (Loft's SpaceTemplate `parameters`, seed 002) and the values a space gives them.
 *
 * Rules beyond the schema:
 * - `variable` is an identifier (it is used as `${{ .param.NAME }}`), unique within a template.
 * - `options` only with `enum` (required there, unique); `min`/`max` only with `number`;
 *   `validation`/`invalidation` only with the text types (string, multiline, password).
 * - `validation` must match somewhere in the value, `invalidation` must not (both unanchored, as in
 *   Loft: write `^…$` for a whole-value match).
 * - A `defaultValue` must itself be a valid value.
 * - Regex safety: a definition regex is at most 512 characters and is rejected when it nests an
 *   unbounded quantifier inside a repeated group (`(a+)+`, `(\w*)*`, `(x|y+){2,}`), the usual shape of
 *   catastrophic backtracking. That heuristic is cheap, not complete, so values are also capped before
 *   any regex runs: 1 KiB for string/password/enum, 64 KiB for multiline.
 * - Values: `string`/`password` are single-line; `number` accepts numbers or numeric strings (forms,
 *   CLI); `boolean` accepts booleans or "true"/"false". A parameter with no value and no default is
 *   left out of the result (templates must use `| default` for those; the save-time check says so).
 */
import { z } from 'zod';
import { ErrorType, KnotError, type FieldError } from './errors';

export const PARAMETER_TYPES = ['string', 'multiline', 'boolean', 'number', 'enum', 'password'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export type ParameterValue = string | number | boolean;

export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_TEXT_VALUE_BYTES = 1024;
export const MAX_MULTILINE_VALUE_BYTES = 64 * 1024;
const MAX_REGEX_LENGTH = 512;
const TEXT_TYPES: ReadonlySet<ParameterType> = new Set(['string', 'multiline', 'password']);

export const parameterDefSchema = z
  .object({
    variable: z.string().max(64).regex(PARAMETER_NAME, 'must start with a letter or _ and contain only letters, digits and _'),
    label: z.string().max(200).optional(),
    description: z.string().max(2000).optional(),
    type: z.enum(PARAMETER_TYPES),
    required: z.boolean().optional(),
    defaultValue: z.union([z.string(), z.number(), z.boolean()]).optional(),
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
    options: z.array(z.string().min(1).max(256)).optional(),
    validation: z.string().optional(),
    invalidation: z.string().optional(),
    placeholder: z.string().max(500).optional(),
    section: z.string().max(200).optional(),
  })
  .strict();

export type ParameterDef = z.infer<typeof parameterDefSchema>;

export const parameterDefsSchema = z.array(parameterDefSchema).max(100);

/** `parameters[2].options` style path from a zod issue path. */
export function zodPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out;
}

/**
 * Why a regex is unsafe, or undefined when it is acceptable. Looks for a group containing an
 * unbounded quantifier that is itself quantified (more than once).
 */
export function unsafeRegexReason(source: string): string | undefined {
  if (source.length > MAX_REGEX_LENGTH) return `is longer than ${MAX_REGEX_LENGTH} characters`;
  // One entry per open group: does it (or a nested group) contain an unbounded quantifier?
  const groups: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      continue;
    }
    if (ch === '(') {
      groups.push(false);
      continue;
    }
    const quant = quantifierAt(source, i);
    if (ch === ')') {
      const inner = groups.pop() ?? false;
      const after = quantifierAt(source, i + 1);
      if (inner && after && after.repeats) return 'nests a repeated quantifier inside a repeated group (catastrophic backtracking)';
      const unbounded = inner || (after?.unbounded ?? false);
      if (groups.length > 0) groups[groups.length - 1] = (groups[groups.length - 1] ?? false) || unbounded;
      if (after) i += after.length;
      continue;
    }
    if (quant) {
      if (quant.unbounded && groups.length > 0) groups[groups.length - 1] = true;
      i += quant.length - 1;
    }
  }
  return undefined;
}

function quantifierAt(source: string, i: number): { length: number; unbounded: boolean; repeats: boolean } | undefined {
  const ch = source[i];
  const lazy = (n: number) => (source[i + n] === '?' || source[i + n] === '+' ? 1 : 0);
  if (ch === '*' || ch === '+') return { length: 1 + lazy(1), unbounded: true, repeats: true };
  if (ch === '?') return { length: 1 + lazy(1), unbounded: false, repeats: false };
  if (ch === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { length: m[0].length + lazy(m[0].length), unbounded: max === Infinity, repeats: max > 1 };
  }
  return undefined;
}

function compileRegex(source: string): { regex?: RegExp; error?: string } {
  const unsafe = unsafeRegexReason(source);
  if (unsafe) return { error: `regex ${unsafe}` };
  try {
    return { regex: new RegExp(source, 'u') };
  } catch (e) {
    return { error: `regex does not compile: ${(e as Error).message}` };
  }
}

/** Every problem with a list of definitions (schema, then cross-field rules), paths under `prefix`. */
export function checkParameterDefinitions(input: unknown, prefix = 'parameters'): FieldError[] {
  const parsed = parameterDefsSchema.safeParse(input);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => ({ path: zodPath(prefix, i.path), message: i.message }));
  }
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  parsed.data.forEach((def, index) => {
    const at = (field: string) => `${prefix}[${index}]${field ? `.${field}` : ''}`;
    const first = seen.get(def.variable);
    if (first !== undefined) errors.push({ path: at('variable'), message: `duplicate parameter '${def.variable}' (also ${prefix}[${first}])` });
    else seen.set(def.variable, index);

    if (def.type === 'enum') {
      if (!def.options || def.options.length === 0) errors.push({ path: at('options'), message: 'enum parameters need at least one option' });
      else if (new Set(def.options).size !== def.options.length) errors.push({ path: at('options'), message: 'options must be unique' });
    } else if (def.options !== undefined) {
      errors.push({ path: at('options'), message: 'options are only allowed for enum parameters' });
    }
    if (def.type !== 'number') {
      if (def.min !== undefined) errors.push({ path: at('min'), message: 'min is only allowed for number parameters' });
      if (def.max !== undefined) errors.push({ path: at('max'), message: 'max is only allowed for number parameters' });
    } else if (def.min !== undefined && def.max !== undefined && def.min > def.max) {
      errors.push({ path: at('min'), message: `min (${def.min}) is greater than max (${def.max})` });
    }
    let regexOk = true;
    for (const field of ['validation', 'invalidation'] as const) {
      const source = def[field];
      if (source === undefined) continue;
      if (!TEXT_TYPES.has(def.type)) {
        errors.push({ path: at(field), message: `${field} is only allowed for string, multiline and password parameters` });
        regexOk = false;
        continue;
      }
      const { error } = compileRegex(source);
      if (error) {
        errors.push({ path: at(field), message: error });
        regexOk = false;
      }
    }
    if (def.defaultValue !== undefined && regexOk && errors.every((e) => !e.path.startsWith(at('')))) {
      const problem = valueProblem(def, def.defaultValue);
      if (problem) errors.push({ path: at('defaultValue'), message: `default is not a valid value: ${problem}` });
    }
  });
  return errors;
}

/** Parses definitions or throws KnotError(Validation) listing every problem. */
export function parseParameterDefinitions(input: unknown, prefix = 'parameters'): ParameterDef[] {
  const errors = checkParameterDefinitions(input, prefix);
  if (errors.length > 0) {
    throw new KnotError(ErrorType.Validation, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  }
  return parameterDefsSchema.parse(input);
}

/** Normalises one value for its definition, or says why it is invalid. */
function normalise(def: ParameterDef, raw: unknown): { value?: ParameterValue; error?: string } {
  switch (def.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 'true' || raw === 'false') return { value: raw === 'true' };
      return { error: 'must be true or false' };
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) return { error: 'must be a number' };
      if (def.min !== undefined && n < def.min) return { error: `must be at least ${def.min}` };
      if (def.max !== undefined && n > def.max) return { error: `must be at most ${def.max}` };
      return { value: n };
    }
    case 'enum':
      if (typeof raw !== 'string') return { error: 'must be a string' };
      if (utf8Length(raw) > MAX_TEXT_VALUE_BYTES) return { error: `must be at most ${MAX_TEXT_VALUE_BYTES} bytes` };
      if (!(def.options ?? []).includes(raw)) return { error: `must be one of ${(def.options ?? []).join(', ')}` };
      return { value: raw };
    case 'string':
    case 'password':
    case 'multiline': {
      if (typeof raw !== 'string') return { error: 'must be a string' };
      const limit = def.type === 'multiline' ? MAX_MULTILINE_VALUE_BYTES : MAX_TEXT_VALUE_BYTES;
      if (utf8Length(raw) > limit) return { error: `must be at most ${limit} bytes` };
      if (def.type !== 'multiline' && /[\r\n]/.test(raw)) return { error: 'must be a single line' };
      if (def.validation !== undefined) {
        const { regex } = compileRegex(def.validation);
        if (!regex || !regex.test(raw)) return { error: `does not match the required pattern ${def.validation}` };
      }
      if (def.invalidation !== undefined) {
        const { regex } = compileRegex(def.invalidation);
        if (!regex || regex.test(raw)) return { error: `matches the forbidden pattern ${def.invalidation}` };
      }
      return { value: raw };
    }
  }
}

/** TextEncoder rather than Buffer: this module is also usable inside Temporal's workflow sandbox. */
function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

function valueProblem(def: ParameterDef, raw: unknown): string | undefined {
  return normalise(def, raw).error;
}

/**
 * Checks a space's parameter values against the template's definitions and returns them normalised
 * (numbers as numbers, booleans as booleans, defaults applied). Throws KnotError(ParameterInvalid)
 * with one FieldError per bad field (`parameters.<name>`), unknown names included.
 * With `partial` (a PATCH), only the given values are checked and no defaults are applied.
 */
export function validateParameterValues(
  defs: readonly ParameterDef[],
  values: Readonly<Record<string, unknown>> | undefined,
  opts: { partial?: boolean } = {},
): Record<string, ParameterValue> {
  const given = values ?? {};
  const errors: FieldError[] = [];
  const out: Record<string, ParameterValue> = {};
  const byName = new Map(defs.map((d) => [d.variable, d]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) errors.push({ path: `parameters.${name}`, message: 'unknown parameter' });
  }
  for (const def of defs) {
    const path = `parameters.${def.variable}`;
    const raw = Object.hasOwn(given, def.variable) ? given[def.variable] : undefined;
    if (raw === undefined || raw === null) {
      if (opts.partial) continue;
      if (def.defaultValue !== undefined) {
        const { value, error } = normalise(def, def.defaultValue);
        if (value !== undefined) out[def.variable] = value;
        else errors.push({ path, message: `default is not valid: ${error ?? ''}` });
      } else if (def.required) {
        errors.push({ path, message: 'is required' });
      }
      continue;
    }
    if (def.required && raw === '') {
      errors.push({ path, message: 'is required' });
      continue;
    }
    const { value, error } = normalise(def, raw);
    if (value === undefined) errors.push({ path, message: error ?? 'is invalid' });
    else out[def.variable] = value;
  }
  if (errors.length > 0) {
    throw new KnotError(ErrorType.ParameterInvalid, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  }
  return out;
}

/** Names of password parameters: the store encrypts their values and the API never returns them. */
export function secretParameterNames(defs: readonly ParameterDef[]): string[] {
  return defs.filter((d) => d.type === 'password').map((d) => d.variable);
}

/** Parameters that may have no value at render time: not required and without a default. */
export function optionalParameterNames(defs: readonly ParameterDef[]): string[] {
  return defs.filter((d) => !d.required && d.defaultValue === undefined).map((d) => d.variable);
}

/**
 * Values for save-time rendering, as a space could have them: a parameter's default; else, for a
 * required one, the first valid of its placeholder and a few type-appropriate samples (so a
 * `validation` regex such as `^\d+G$` is usually satisfied); optional parameters without a default
 * are left out, so templates are checked along their `| default` path.
 */
export function sampleParameterValues(defs: readonly ParameterDef[]): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const def of defs) {
    if (!def.required && def.defaultValue === undefined) continue;
    const candidates: unknown[] = [def.defaultValue, def.placeholder];
    switch (def.type) {
      case 'boolean':
        candidates.push(false);
        break;
      case 'number':
        candidates.push(def.min ?? (def.max !== undefined ? Math.min(def.max, 0) : 0));
        break;
      case 'enum':
        candidates.push(...(def.options ?? []));
        break;
      default:
        candidates.push(`sample-${def.variable.toLowerCase().replace(/_/g, '-')}`, 'sample', '1', '10G', 'a', 'example.com', 'https://example.com', 'sample@example.com');
    }
    for (const candidate of candidates) {
      if (candidate === undefined) continue;
      const { value } = normalise(def, candidate);
      if (value !== undefined) {
        out[def.variable] = value;
        break;
      }
    }
    // No candidate is valid (a regex we can't satisfy): the first sample still shows whether the template renders.
    if (!(def.variable in out)) out[def.variable] = def.type === 'number' ? 0 : def.type === 'boolean' ? false : `sample-${def.variable.toLowerCase()}`;
  }
  return out;
}
