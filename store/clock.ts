/** Wall-clock source, injectable so sweeps and expiry are testable. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
