import { ErrorType, KnotError } from '../../../core/errors';
import { assertName, idTime, isId, isValidName, nameErrors, newId, type NameKind } from '../../../core/names';

describe('names', () => {
  it.each<[NameKind, string, boolean]>([
    ['space', 'mytest', true],
    ['space', 'a', true],
    ['space', 'my-space-2', true],
    ['space', 'a'.repeat(63), true],
    ['space', 'a'.repeat(64), false],
    ['space', 'MySpace', false],
    ['space', '-lead', false],
    ['space', 'trail-', false],
    ['space', 'under_score', false],
    ['space', 'dot.ted', false],
    ['space', 'sp ace', false],
    ['space', '', false],
    ['template', 'example', true],
    ['template', 'Example', false],
    ['user', 'alice', true],
    ['user', 'a_b-c1', true],
    ['user', 'a'.repeat(32), true],
    ['user', 'a'.repeat(33), false],
    ['user', '1alice', false],
    ['user', 'Alice', false],
    ['user', 'al.ice', false],
    ['group', 'dev_ops', true],
    ['group', 'dev-', false],
    ['group', 'Dev', false],
    ['variable', 'REGISTRY_URL', true],
    ['variable', '_x', true],
    ['variable', '1x', false],
    ['variable', 'has-dash', false],
    ['variable', 'x'.repeat(65), false],
  ])('%s %j valid=%s', (kind, value, valid) => {
    expect(isValidName(kind, value)).toBe(valid);
    expect(nameErrors(kind, value, 'name')).toHaveLength(valid ? 0 : 1);
  });

  it('assertName throws a Validation error with the path', () => {
    try {
      assertName('space', 'Bad Name', 'spec.name');
      throw new Error('expected rejection');
    } catch (e) {
      expect((e as KnotError).type).toBe(ErrorType.Validation);
      expect((e as KnotError).errors).toEqual([{ path: 'spec.name', message: expect.stringContaining('lowercase') }]);
    }
    expect(nameErrors('space', undefined)).toEqual([{ path: 'name', message: 'is required' }]);
    expect(assertName('user', 'bob')).toBe('bob');
  });
});

describe('newId', () => {
  it('is 26 lowercase Crockford base32 characters encoding the time', () => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = newId(now);
    expect(id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isId(id)).toBe(true);
    expect(idTime(id)).toBe(now);
    expect(newId(new Date(now)).slice(0, 10)).toBe(id.slice(0, 10));
  });

  it('sorts by time and is unique within a millisecond', () => {
    const ids = [0, 1, 31, 32, 1_000, 1_700_000_000_000, 2 ** 48 - 1].map((t) => newId(t));
    expect([...ids].sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 1000 }, () => newId(42)));
    expect(same.size).toBe(1000);
  });

  it('encodes the random bytes it is given', () => {
    expect(newId(0, (n) => new Uint8Array(n).fill(0xff))).toBe('0000000000' + 'z'.repeat(16));
    expect(newId(0, (n) => new Uint8Array(n))).toBe('0'.repeat(26));
  });

  it.each([[-1], [2 ** 48], [1.5], [NaN]])('rejects time %d', (t) => {
    expect(() => newId(t)).toThrow(RangeError);
  });

  it.each([['01ARZ3NDEKTSV4RRFFQ69G5FAV'], ['0123456789abcdefghjkmnpqrs'.slice(0, 25)], ['0000000000000000000000000u'], [42]])('isId(%j) is false', (v) => {
    expect(isId(v)).toBe(false);
  });
});
