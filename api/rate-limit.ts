/**
 * In-memory limiter for failed authentication attempts (sliding window), keyed twice: by client
 * address and by the presented token's prefix. Only failures count and only failures are refused:
 * tokens are 256-bit random, so slowing guessers never needs to turn a valid token away — behind a
 * shared proxy address one broken script must not lock every user out.
 */
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  now: () => number;
  /** bounded memory: the oldest keys are forgotten first */
  maxTrackedKeys?: number;
}

export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly opts: FailureLimiterOptions) {}

  private recent(key: string): number[] {
    const cutoff = this.opts.now() - this.opts.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Seconds until a failure under `key` is answered 401 again instead of 429; 0 when not limited. */
  retryAfterSeconds(key: string): number {
    const list = this.recent(key);
    if (list.length < this.opts.maxFailures) return 0;
    // the window frees up when the (length - max + 1)-th newest failure ages out
    const oldestThatCounts = list[list.length - this.opts.maxFailures] ?? this.opts.now();
    return Math.max(1, Math.ceil((oldestThatCounts + this.opts.windowMs - this.opts.now()) / 1000));
  }

  recordFailure(key: string): void {
    const list = this.recent(key);
    list.push(this.opts.now());
    this.failures.delete(key);
    this.failures.set(key, list.slice(-this.opts.maxFailures * 2));
    const max = this.opts.maxTrackedKeys ?? 20_000;
    while (this.failures.size > max) {
      const first = this.failures.keys().next().value;
      if (first === undefined) break;
      this.failures.delete(first);
    }
  }

  /**
   * Records a failed attempt from `address` with a token starting `prefix` and says how long the
   * caller must wait (0: answer 401; more: answer 429 with Retry-After).
   */
  failed(address: string, prefix: string | null): number {
    const keys = [`addr:${address}`, ...(prefix ? [`prefix:${prefix}`] : [])];
    // the attempt that crosses the limit is still a plain 401; the ones after it are 429
    const wait = Math.max(...keys.map((k) => this.retryAfterSeconds(k)));
    for (const k of keys) this.recordFailure(k);
    return wait;
  }
}
