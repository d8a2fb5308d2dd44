/** Fault injection for the sandbox: latency, error rates, hung requests, misbehaving allocations. */

export interface FaultRule {
  /** HTTP method to match; any when unset. */
  method?: string;
  /** Regular expression matched against the request path (no query), e.g. `^/v1/job/[^/]+$`. */
  path: string;
  latencyMs?: number;
  /** 0..1: share of matching requests answered with an error. */
  errorRate?: number;
  /** Default 500. */
  errorStatus?: number;
  /** Default: one of Nomad's realistic transient error texts, picked by the seeded PRNG. */
  errorMessage?: string;
  /** Never answer; the client must time out or close the connection. */
  hang?: boolean;
}

export interface Faults {
  /** Added to every request (benchmarks use 10). */
  latencyMs?: number;
  /** Seed for the PRNG deciding error-rate hits, so runs are reproducible. */
  seed?: number;
  rules?: FaultRule[];
  /** Regex on job id: allocations of matching jobs fail (task driver error). */
  failAllocations?: string;
  /** Regex on job id: allocations of matching jobs stay pending forever. */
  pendingAllocations?: string;
}

export const TRANSIENT_ERRORS = [
  'No cluster leader',
  'rpc error: No cluster leader',
  'rpc error: failed to get conn: dial tcp 10.0.0.3:4647: connect: connection refused',
  'rpc error: EOF',
];

/** mulberry32: tiny, seedable, good enough to spread error-rate hits. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultDecision =
  | { kind: 'pass'; latencyMs: number }
  | { kind: 'hang'; latencyMs: number }
  | { kind: 'error'; latencyMs: number; status: number; message: string };

export class FaultInjector {
  private faults: Faults = {};
  private random: () => number = seededRandom(1);
  private compiled: { rule: FaultRule; re: RegExp }[] = [];
  private failRe: RegExp | undefined;
  private pendingRe: RegExp | undefined;

  constructor(faults: Faults = {}) {
    this.set(faults);
  }

  /** Replaces all faults (an empty object clears them) and reseeds the PRNG. */
  set(faults: Faults): void {
    const compiled = (faults.rules ?? []).map((rule) => ({ rule, re: new RegExp(rule.path) }));
    this.failRe = faults.failAllocations ? new RegExp(faults.failAllocations) : undefined;
    this.pendingRe = faults.pendingAllocations ? new RegExp(faults.pendingAllocations) : undefined;
    this.compiled = compiled;
    this.faults = faults;
    this.random = seededRandom(faults.seed ?? 1);
  }

  get(): Faults {
    return this.faults;
  }

  decide(method: string, path: string): FaultDecision {
    let latencyMs = this.faults.latencyMs ?? 0;
    for (const { rule, re } of this.compiled) {
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (!re.test(path)) continue;
      latencyMs += rule.latencyMs ?? 0;
      if (rule.hang) return { kind: 'hang', latencyMs };
      if (rule.errorRate && this.random() < rule.errorRate) {
        const message = rule.errorMessage ?? TRANSIENT_ERRORS[Math.floor(this.random() * TRANSIENT_ERRORS.length)] ?? 'No cluster leader';
        return { kind: 'error', latencyMs, status: rule.errorStatus ?? 500, message };
      }
    }
    return { kind: 'pass', latencyMs };
  }

  allocationFate(jobId: string): 'fail' | 'pending' | 'run' {
    if (this.failRe?.test(jobId)) return 'fail';
    if (this.pendingRe?.test(jobId)) return 'pending';
    return 'run';
  }
}
