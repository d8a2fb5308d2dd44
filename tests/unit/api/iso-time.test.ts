import { isoOf } from '../../../api/iso-time';
import { helmetHeaders } from '../../../api/access-log';

describe('isoOf: Date#toISOString without a Date', () => {
  test('the same string as the built-in for every kind of instant', () => {
    const samples = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 951_868_800_000, 4_107_542_400_000, 253_402_300_799_999, Date.now()];
    // random instants across the range, and every ms around a leap day
    for (let i = 0; i < 20_000; i++) samples.push(Math.floor(Math.random() * 253_402_300_800_000));
    for (let t = 951_782_400_000 - 5000; t < 951_782_400_000 + 5000; t++) samples.push(t);
    for (const t of samples) expect(isoOf(t)).toBe(new Date(t).toISOString());
  });

  test('instants in order, and back and forth between days (it keeps the last day formatted)', () => {
    const day = 86_400_000;
    const base = Date.parse('2026-12-07T00:00:00Z');
    for (let i = 0; i < 2000; i++) {
      const t = base + (i % 2 === 0 ? -1 : 1) * Math.floor(i / 2) * 7_919 + (i % 3) * day;
      expect(isoOf(t)).toBe(new Date(t).toISOString());
    }
    for (let t = base - 3 * day; t < base + 3 * day; t += 3_600_000 - 1) expect(isoOf(t)).toBe(new Date(t).toISOString());
  });

  test('outside its range it is the built-in, errors included', () => {
    for (const t of [-1, -62_198_755_200_000, 253_402_300_800_000, 8.64e15, 1.5]) expect(isoOf(t)).toBe(new Date(t).toISOString());
    expect(() => isoOf(Number.NaN)).toThrow(RangeError);
  });
});

describe('security headers taken from helmet once', () => {
  test("helmet's defaults answer synchronously and set the usual headers", () => {
    const { set, removed } = helmetHeaders();
    const names = set.map(([n]) => n.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['content-security-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options']));
    expect(removed.map((n) => n.toLowerCase())).toContain('x-powered-by');
  });
});
