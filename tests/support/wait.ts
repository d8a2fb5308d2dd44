/**
 * The one poll helper for tests: waits for a condition, never for a fixed time, and always within
 * an upper bound, failing with what it was waiting for.
 */
export interface WaitOptions {
  /** upper bound; the wait fails after this long */
  timeoutMs?: number;
  everyMs?: number;
}

/** Polls `probe` until it returns a truthy value (which is returned); a probe that throws counts as not yet. */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `probe` until `accept` likes its value; fails with the last value after the bound. */
export async function waitFor<T>(probe: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 3000, everyMs = 10): Promise<T> {
  let last: T | undefined;
  const hit = await until(
    'a condition',
    async () => {
      last = await probe();
      return accept(last) ? { value: last } : null;
    },
    timeoutMs,
    everyMs,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last value: ${JSON.stringify(last)}`);
  });
  return hit.value;
}
