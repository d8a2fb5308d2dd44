/** Benchmark knobs from the environment, with defaults. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`${name} must be a number, got '${raw}'`);
  return Math.trunc(v);
}

/** `undefined` when unset (so the code's own default applies). */
export function envOptionalInt(name: string): number | undefined {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === '' ? undefined : envInt(name, 0);
}
