import { jsonErrorPosition, parseJsonBody } from '../../../api/json-body';
import { AuthFailureLimiter } from '../../../api/rate-limit';
import { pathMatcher } from '../../../api/route';
import { KnotError } from '../../../core/errors';

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
