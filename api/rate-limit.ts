/**
 * In-memory limiter for failed authentication attempts per client IP (sliding window). While an
 * IP is over the limit every authenticated request from it is refused with 429 — a correct token
 * included — so a guesser learns nothing from the answers.
 */
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  now: () => number;
  /** bounded memory: the oldest IPs are forgotten first */
  maxTrackedIps?: number;
}

export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly opts: FailureLimiterOptions) {}

  private recent(ip: string): number[] {
    const cutoff = this.opts.now() - this.opts.windowMs;
    const list = (this.failures.get(ip) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(ip);
    else this.failures.set(ip, list);
    return list;
  }

  /** Seconds until the IP may try again, or 0 when it is not limited. */
  retryAfterSeconds(ip: string): number {
    const list = this.recent(ip);
    if (list.length < this.opts.maxFailures) return 0;
    // the window frees up when the (length - max + 1)-th newest failure ages out
    const oldestThatCounts = list[list.length - this.opts.maxFailures] ?? this.opts.now();
    return Math.max(1, Math.ceil((oldestThatCounts + this.opts.windowMs - this.opts.now()) / 1000));
  }

  recordFailure(ip: string): void {
    const list = this.recent(ip);
    list.push(this.opts.now());
    this.failures.delete(ip);
    this.failures.set(ip, list.slice(-this.opts.maxFailures * 2));
    const max = this.opts.maxTrackedIps ?? 10_000;
    while (this.failures.size > max) {
      const first = this.failures.keys().next().value;
      if (first === undefined) break;
      this.failures.delete(first);
    }
  }
}
