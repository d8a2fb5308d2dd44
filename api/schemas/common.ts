/** Schemas shared by every resource: problems, timestamps, pagination. */
import { z } from 'zod';
import type { ResponseDoc } from '../route';
import { isoOf } from '../iso-time';

export const fieldErrorSchema = z
  .object({
    path: z.string(),
    message: z.string(),
    line: z.number().int().optional().describe('1-based line of the problem in a text field (a template job or volumes)'),
    column: z.number().int().optional().describe('1-based column, with line'),
  })
  .meta({ id: 'FieldError' });

export const problemSchema = z
  .object({
    type: z.string().describe('https://knot.dev/problems/<type>; the last segment is stable'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().describe('the request path'),
    requestId: z.string(),
    errors: z.array(fieldErrorSchema).optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem' });

export const isoTime = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC timestamp' });
export const nullableIsoTime = isoTime.nullable();

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : isoOf(ms);
}

const PROBLEM_TEXT: Record<number, string> = {
  400: 'invalid request (problem+json with errors[] naming the fields)',
  401: 'missing or invalid token',
  403: 'not allowed for this role',
  404: 'not found (or not visible to the caller)',
  405: 'method not allowed',
  409: 'conflict with the current state',
  413: 'request body larger than 1 MiB',
  415: 'unsupported Content-Type',
  429: 'a failed authentication from an address or token prefix with too many recent failures (Retry-After); a valid token is never refused',
  503: 'a dependency (store, Temporal, Nomad) is unavailable',
};

/** The problem responses of a route, documented with the shared Problem schema. */
export function problems(...codes: number[]): Record<number, ResponseDoc> {
  const out: Record<number, ResponseDoc> = {};
  for (const c of codes) out[c] = { description: PROBLEM_TEXT[c] ?? 'error', schema: problemSchema };
  return out;
}

/** Every authenticated route can answer these. */
export const AUTH_PROBLEMS = [401, 429, 503] as const;

export const limitParam = z.coerce.number().int().min(1).max(200).default(50);

/** Opaque cursors are base64url JSON; a tampered one is a 400, never a 500. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T | null {
  try {
    const r = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export const noContent: ResponseDoc = { description: 'done, no body' };
