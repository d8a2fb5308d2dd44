/**
 * The save-time checks of a space's autostart and the schedule's rule for manual starts
 * (core/autostart.ts). A refused autostart is a 400 naming the field; a start outside the
 * template's windows is a 409 `outside_schedule` with the next allowed time.
 */
import { autostartScheduleProblem, isKnownTimeZone, nextAllowedAt, nextAutostartAt, templateAllowsAutostart, type Autostart } from '../core/autostart';
import { ErrorType, KnotError } from '../core/errors';
import { autoStopFields } from '../core/sweeps';
import type { Services } from './context';

function fieldError(path: string, message: string): KnotError {
  return new KnotError(ErrorType.Validation, `${path}: ${message}`, { errors: [{ path, message }] });
}

async function ownerTimezone(svc: Services, ownerId: string): Promise<string> {
  const tz = (await svc.store.users.get(ownerId))?.timezone || 'UTC';
  return isKnownTimeZone(tz) ? tz : 'UTC';
}

/** Checks `autostart` against the template version's content; the instant it is next due. */
export async function checkAutostart(svc: Services, ownerId: string, templateName: string, content: Readonly<Record<string, unknown>>, autostart: Autostart): Promise<number | null> {
  if (!templateAllowsAutostart(content)) throw fieldError('autostart', `template '${templateName}' does not allow autostart`);
  if (autostart.timezone !== undefined && !isKnownTimeZone(autostart.timezone)) throw fieldError('autostart.timezone', 'must be an IANA time zone such as Europe/Paris');
  const ownerTz = await ownerTimezone(svc, ownerId);
  const tz = autostart.timezone ?? ownerTz;
  const now = svc.now();
  const problem = autostartScheduleProblem(autostart, tz, autoStopFields({ ...content }).schedule, ownerTz, now);
  if (problem) throw fieldError('autostart.at', problem);
  return nextAutostartAt(autostart, now, tz);
}

/** Refuses a start when the template's schedule allows no running now, with when it next does. */
export async function requireInsideSchedule(svc: Services, ownerId: string, templateName: string, content: Readonly<Record<string, unknown>>): Promise<void> {
  const schedule = autoStopFields({ ...content }).schedule;
  if (!schedule) return;
  const tz = await ownerTimezone(svc, ownerId);
  const now = svc.now();
  const next = nextAllowedAt(schedule, now, tz);
  if (next === now) return;
  const when = next === null ? null : new Date(next).toISOString();
  throw new KnotError(
    ErrorType.OutsideSchedule,
    when
      ? `template '${templateName}' allows spaces to run only inside its schedule (${tz}); the next allowed start is ${when}`
      : `template '${templateName}' has a schedule without any window: its spaces may not run`,
    { details: { nextAllowedAt: when, timezone: tz } },
  );
}
