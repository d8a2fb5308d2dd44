/**
 * Auto-start and the schedule's start rule: pure wall-clock arithmetic in IANA time zones.
 *
 * A space's `autostart` names weekdays and a time; it is due at that wall-clock minute in its time
 * zone (its own `timezone`, else its owner's). The sweep keeps the next due instant in the store
 * and moves it on once per due time, whatever happened, so a space that could not start is tried
 * again at its next due time only. A template's `schedule` bounds both auto-start (checked at save
 * time) and manual starts (refused outside its windows with the next allowed time).
 */
import { z } from 'zod';
import { WEEKDAYS, isWithinSchedule, type Schedule, type Weekday } from './template';

/** Why an automatic operation ran: the operation's `reason` and the audit entry's `detail.reason`. */
export const AutoReason = {
  Autostart: 'autostart',
  Schedule: 'schedule',
  Idle: 'idle',
  MaxUptime: 'max uptime',
  Dormant: 'dormant',
} as const;
export type AutoReasonName = (typeof AutoReason)[keyof typeof AutoReason];

export const autostartSchema = z
  .strictObject({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .max(7)
      .refine((d) => new Set(d).size === d.length, 'lists a day twice'),
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00 to 23:59)'),
    timezone: z.string().min(1).max(64).optional().describe("IANA time zone; the owner's when absent"),
  })
  .describe('start the space at this wall-clock time on these weekdays');
export type Autostart = z.infer<typeof autostartSchema>;

/** Whether the runtime knows this IANA time zone. */
export function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const DAY_INDEX: Record<Weekday, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of `tz` at `instant` as UTC-based numbers (month 0-based). */
function wallClock(instant: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), mo: Number(p.month) - 1, d: Number(p.day), h: Number(p.hour) % 24, mi: Number(p.minute) };
}

/** The instant the wall clock of `tz` shows this local time (two passes settle DST offsets). */
function localToInstant(y: number, mo: number, d: number, h: number, mi: number, tz: string): number {
  const naive = Date.UTC(y, mo, d, h, mi);
  const offsetAt = (t: number) => {
    const w = wallClock(t, tz);
    return Date.UTC(w.y, w.mo, w.d, w.h, w.mi) - Math.floor(t / 60_000) * 60_000;
  };
  const first = naive - offsetAt(naive);
  return naive - offsetAt(first);
}

/** The local dates from `instant`'s date in `tz`, for `count` days: [y, month, day, weekday]. */
function localDays(instant: number, tz: string, count: number): [number, number, number, Weekday][] {
  const w = wallClock(instant, tz);
  const out: [number, number, number, Weekday][] = [];
  for (let i = 0; i < count; i++) {
    const day = new Date(Date.UTC(w.y, w.mo, w.d + i));
    const weekday = WEEKDAYS.find((k) => DAY_INDEX[k] === day.getUTCDay())!;
    out.push([day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), weekday]);
  }
  return out;
}

const hm = (s: string): [number, number] => {
  const [h = '0', m = '0'] = s.split(':');
  return [Number(h), Number(m)];
};

/** The first instant after `after` at which `a` is due, in `tz` (null: never, which a valid autostart is not). */
export function nextAutostartAt(a: Autostart, after: number, tz: string): number | null {
  const [h, mi] = hm(a.at);
  for (const [y, mo, d, weekday] of localDays(after, tz, 9)) {
    if (!a.days.includes(weekday)) continue;
    const t = localToInstant(y, mo, d, h, mi, tz);
    if (t > after) return t;
  }
  return null;
}

/**
 * Why `a` does not fit the template's schedule (evaluated on the owner's wall clock, as the
 * auto-stop sweep does), or null when every weekly occurrence falls inside a window.
 */
export function autostartScheduleProblem(a: Autostart, autostartTz: string, schedule: Schedule | undefined, ownerTz: string, now: number): string | null {
  if (!schedule) return null;
  let t = now;
  for (let i = 0; i < a.days.length; i++) {
    const next = nextAutostartAt(a, t, autostartTz);
    if (next === null) return null;
    if (!isWithinSchedule(schedule, new Date(next), ownerTz)) {
      const w = wallClock(next, ownerTz);
      const day = localDays(next, ownerTz, 1)[0]![3];
      return `${a.at} on ${day} (${autostartTz}) is outside the template's schedule: ${String(w.h).padStart(2, '0')}:${String(w.mi).padStart(2, '0')} on ${day} in ${ownerTz} is not in any window`;
    }
    t = next;
  }
  return null;
}

/**
 * The next instant at or after `now` when the schedule allows a space to run, on the wall clock of
 * `tz`; null when the schedule has no window at all.
 */
export function nextAllowedAt(schedule: Schedule, now: number, tz: string): number | null {
  if (isWithinSchedule(schedule, new Date(now), tz)) return now;
  let best: number | null = null;
  for (const [y, mo, d, weekday] of localDays(now, tz, 8)) {
    for (const w of schedule[weekday] ?? []) {
      const [h, mi] = hm(w.from);
      const t = localToInstant(y, mo, d, h, mi, tz);
      if (t > now && (best === null || t < best)) best = t;
    }
    if (best !== null) return best;
  }
  return best;
}

/** A template may forbid auto-start (`autostart: false` in its content). */
export function templateAllowsAutostart(content: Readonly<Record<string, unknown>> | null | undefined): boolean {
  return content?.autostart !== false;
}
