/**
 * Durations as config and templates write them: `500ms`, `45s`, `90m`, `8h`, and combinations
 * in descending order such as `1h30m` or `2m30s`. One parser for both.
 */
/** The one pattern: parsed here, checked by the template schema, published in the OpenAPI document. */
export const DURATION = /^(?=\d)(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds in a duration; undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const [, h, min, s, ms] = m;
  const n = (v: string | undefined) => (v === undefined ? 0 : parseInt(v, 10));
  return ((n(h) * 60 + n(min)) * 60 + n(s)) * 1000 + n(ms);
}

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

export const DURATION_HINT = 'must be a duration such as 500ms, 45s, 90m, 8h or 1h30m';
