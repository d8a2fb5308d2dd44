/**
 * Date.prototype.toISOString without a Date: a space list page formats ~300 timestamps, and the
 * built-in took ~460 ns each against ~140 ns here (bench/RESULTS.md §15). Same output for every
 * integer ms from 1970 to 9999 (checked against the built-in by tests/unit/api/iso-time.test.ts);
 * anything else (before 1970, past 9999, fractions, NaN) goes to the built-in, which also throws
 * where it throws.
 */
const DAY_MS = 86_400_000;
const LAST_MS = 253_402_300_800_000; // 10000-01-01T00:00:00.000Z

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** The last day formatted (a page's timestamps mostly share a few days): its day number and `YYYY-MM-DDT`. */
let cachedDay = -1;
let cachedPrefix = '';

export function isoOf(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= LAST_MS) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  if (days !== cachedDay) {
    cachedPrefix = datePrefix(days);
    cachedDay = days;
  }
  return `${cachedPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(millis)}Z`;
}

/** Days since 1970-01-01 → `YYYY-MM-DDT` (H. Hinnant's days_from_civil, inverted; 400-year eras from 0000-03-01). */
function datePrefix(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${pad2(month)}-${pad2(day)}T`;
}
