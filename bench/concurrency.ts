/** Bounded-concurrency helpers: the benchmarks' own small load generator (no extra packages). */

/** Runs `fn` over `items` with at most `limit` in flight; resolves when all have settled. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
}

/**
 * Keeps `concurrency` workers calling `fn` until `durationMs` has passed (or `maxCalls` calls were
 * made, or a worker's `fn` returns false to stop everyone). Returns the wall time used.
 */
export async function runFor(opts: { concurrency: number; durationMs: number; maxCalls?: number }, fn: (callIndex: number) => Promise<boolean | void>): Promise<{ calls: number; elapsedMs: number }> {
  const started = performance.now();
  const deadline = started + opts.durationMs;
  let calls = 0;
  let stopped = false;
  const lanes = Array.from({ length: opts.concurrency }, async () => {
    while (!stopped && performance.now() < deadline && (opts.maxCalls === undefined || calls < opts.maxCalls)) {
      const i = calls++;
      const keepGoing = await fn(i);
      if (keepGoing === false) stopped = true;
    }
  });
  await Promise.all(lanes);
  return { calls, elapsedMs: performance.now() - started };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
