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

type Issue = z.core.$ZodIssue;

/**
 * The branch issues worth reporting for a failed union of object shapes (e.g. the login body:
 * username + password, or token), with paths made absolute: the one branch whose keys the input
 * fits, or every branch's when none or several fit. Null for unions of scalars, whose own
 * "Invalid input" at the union's path already names the field.
 */
function unionBranchIssues(issue: Extract<Issue, { code: 'invalid_union' }>): Issue[] | null {
  const branches = issue.errors;
  const objectShaped = branches.some((b) => b.some((i) => i.path.length > 0 || i.code === 'unrecognized_keys'));
  if (!objectShaped) return null;
  const fitting = branches.filter((b) => !b.some((i) => i.code === 'unrecognized_keys'));
  const chosen = fitting.length === 1 ? fitting : branches;
  return chosen.flat().map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

export function zodFieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const issues: Issue[] = [...error.issues];
  for (let n = 0; n < issues.length; n++) {
    const issue = issues[n]!;
    if (issue.code === 'invalid_union') {
      const nested = unionBranchIssues(issue);
      if (nested) {
        issues.splice(n + 1, 0, ...nested);
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: fieldPath(prefix, [...issue.path, key]), message: 'unknown field' });
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && issue.input === undefined) message = 'is required';
    const path = fieldPath(prefix, issue.path) || '(body)';
    // several union branches may name the same field
    if (!out.some((e) => e.path === path && e.message === message)) out.push({ path, message });
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
