/** Percentiles and summaries for latency samples (milliseconds). Nearest-rank percentiles. */

export interface LatencySummary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const n = samples.length;
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    n,
    min: n ? samples.reduce((a, b) => Math.min(a, b)) : Number.NaN,
    mean: n ? sum / n : Number.NaN,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: n ? samples.reduce((a, b) => Math.max(a, b)) : Number.NaN,
  };
}

/** `1234.5678` → `1234.6`; keeps summary lines short and stable. */
export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** `prefix_p50=.. prefix_p95=.. prefix_p99=..` for a BENCH line. */
export function percentileFields(prefix: string, s: LatencySummary): Record<string, number> {
  return { [`${prefix}_p50`]: round(s.p50), [`${prefix}_p95`]: round(s.p95), [`${prefix}_p99`]: round(s.p99) };
}

/** Groups samples by key (e.g. operation type). */
export class SampleSet {
  private readonly byKey = new Map<string, number[]>();

  add(key: string, ms: number): void {
    const list = this.byKey.get(key) ?? [];
    list.push(ms);
    this.byKey.set(key, list);
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  get(key: string): number[] {
    return this.byKey.get(key) ?? [];
  }

  summary(key: string): LatencySummary {
    return summarize(this.get(key));
  }
}

/** How long `run` took (ms), with what it answered. */
export async function timedMs<T>(run: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await run();
  return { ms: performance.now() - t0, result };
}
