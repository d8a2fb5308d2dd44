import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay } from '../../../agent/backoff';

describe('backoffDelay (full jitter)', () => {
  it('doubles the ceiling each attempt from the base', () => {
    const max = () => 1 - Number.EPSILON;
    expect(backoffDelay(0, max)).toBe(BACKOFF_BASE_MS - 1);
    expect(backoffDelay(1, max)).toBe(2 * BACKOFF_BASE_MS - 1);
    expect(backoffDelay(3, max)).toBe(8 * BACKOFF_BASE_MS - 1);
  });

  it('is capped', () => {
    const max = () => 1 - Number.EPSILON;
    expect(backoffDelay(10, max)).toBe(BACKOFF_CAP_MS - 1);
    expect(backoffDelay(5000, max)).toBe(BACKOFF_CAP_MS - 1);
  });

  it('draws uniformly below the ceiling, down to zero', () => {
    expect(backoffDelay(4, () => 0)).toBe(0);
    expect(backoffDelay(4, () => 0.5)).toBe(8 * BACKOFF_BASE_MS);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 12);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(BACKOFF_CAP_MS);
    }
  });

  it('takes its base and cap as parameters', () => {
    expect(backoffDelay(2, () => 0.5, 100, 300)).toBe(150);
  });
});
