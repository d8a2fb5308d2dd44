import { jsonErrorPosition, parseJsonBody } from '../../../api/json-body';
import { AuthFailureLimiter } from '../../../api/rate-limit';
import { pathMatcher } from '../../../api/route';
import { KnotError } from '../../../core/errors';
import { zodFieldErrors } from '../../../api/validate';
import { z } from 'zod';

test.each([
  ['{"a":}', 5],
  ['{"a" 1}', 5],
  ['[1,2,]', 5],
  ['{"a":1} x', 8],
  ['"\\q"', 2],
  ['', 0],
])('jsonErrorPosition(%j) → offset %d', (text, offset) => {
  expect(jsonErrorPosition(text).offset).toBe(offset);
});

test('valid JSON has no error position', () => {
  expect(jsonErrorPosition('{"a":[1,2,{"b":null}],"c":"\\u00e9"}').offset).toBe(-1);
});

test('parseJsonBody: bad UTF-8 and malformed JSON are validation errors', () => {
  expect(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(KnotError);
  expect(() => parseJsonBody(Buffer.from('{\n"a":}'))).toThrow(/line 2 column 5/);
});

test('AuthFailureLimiter: sliding window per IP', () => {
  let now = 0;
  const l = new AuthFailureLimiter({ maxFailures: 3, windowMs: 10_000, now: () => now });
  for (let i = 0; i < 3; i++) l.recordFailure('a');
  expect(l.retryAfterSeconds('a')).toBe(10);
  expect(l.retryAfterSeconds('b')).toBe(0);
  now = 10_001;
  expect(l.retryAfterSeconds('a')).toBe(0);
});

test('pathMatcher', () => {
  expect(pathMatcher('/api/v1/spaces/:id/start').test('/api/v1/spaces/abc/start')).toBe(true);
  expect(pathMatcher('/api/v1/spaces/:id').test('/api/v1/spaces/abc/start')).toBe(false);
});

test('zodFieldErrors: a union of object shapes names the fields of the shape the input fits; a scalar union stays one error', () => {
  const login = z.object({ auth: z.union([z.strictObject({ username: z.string(), password: z.string() }), z.strictObject({ token: z.string() })]) });
  const errorsOf = (input: unknown, schema: z.ZodType = login) => zodFieldErrors(schema.safeParse(input).error!);
  expect(errorsOf({ auth: { username: 'bob' } })).toEqual([{ path: 'auth.password', message: 'is required' }]);
  expect(errorsOf({ auth: {} }).map((e) => e.path).sort()).toEqual(['auth.password', 'auth.token', 'auth.username']);
  const email = z.object({ email: z.union([z.literal(''), z.email()]) });
  expect(errorsOf({ email: 'nope' }, email)).toEqual([{ path: 'email', message: expect.any(String) }]);
});
