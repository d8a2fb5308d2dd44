/**
 * Redial delays for the link: exponential with full jitter (AWS "Exponential Backoff and Jitter"),
 * so a server restart does not bring every space's agent back in the same instant.
 */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
/** a link that stayed open this long was healthy: the next failure starts the backoff over */
export const BACKOFF_RESET_AFTER_MS = 30_000;

/**
 * The delay before redial number `attempt` (0 = the first redial after a drop): a uniform draw in
 * [0, min(cap, base · 2^attempt)). `random` returns [0, 1) like Math.random.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  // 2^attempt overflows to Infinity for large attempts; min() caps it either way
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
