/** zod → FieldErrors with field paths (`parameters.size`, `members[2]`), unknown fields named. */
import { z } from 'zod';
import { ErrorType, KnotError, type FieldError } from '../core/errors';

export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function zodFieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: fieldPath(prefix, [...issue.path, key]), message: 'unknown field' });
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && issue.input === undefined) message = 'is required';
    out.push({ path: fieldPath(prefix, issue.path) || '(body)', message });
  }
  return out;
}

/** Parses `input` with `schema` or throws KnotError(validation) listing every problem. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string, prefix = ''): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const errors = zodFieldErrors(r.error, prefix);
  throw new KnotError(ErrorType.Validation, `invalid ${what}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
}
