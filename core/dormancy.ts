/**
 * Dormant spaces: a template may set `deleteAfter` (`720h`); a space of it that stays stopped that
 * long is deleted with its volumes by the cleanup sweep, through the ordinary delete workflow
 * (reason `dormant`). Opt-in only: no `deleteAfter`, no deletion. An admin may exempt a space.
 *
 * The clock starts when the space's last operation finished (its last stop, start, update or its
 * create): any start or update resets it, whatever else touches the record (a transfer, an
 * autostart setting) does not. The owner is warned (`space.dormant` event, audit entry) a warning
 * period before, once per dormancy period; a deletion never comes sooner than a full warning
 * period after the warning actually sent (a sweep that did not run, a deleteAfter shorter than the
 * warning), so the time the warning promised is recorded with it. A warning belongs to the period
 * whose start it records (equality, not a comparison of times: the clock's start is written by the
 * lifecycle workers, the warning by the sweep, and their clocks need not agree).
 */
import { parseDuration } from './duration';
import type { SpacePhase } from './lifecycle';

/** The operation reason of a dormant space's delete. */
export const DORMANT_REASON = 'dormant';

/** A template version's `deleteAfter` in ms; undefined when absent or malformed (never deletes). */
export function deleteAfterOf(content: Readonly<Record<string, unknown>> | null | undefined): number | undefined {
  const v = content?.deleteAfter;
  if (typeof v !== 'string') return undefined;
  const ms = parseDuration(v);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * When the space's dormancy clock started, or null when it is not dormant at all: not stopped, or
 * an operation is still running on it. `lastOperation` null: the space never had one (its record's
 * last change stands in).
 */
export function dormantSince(
  space: { phase: SpacePhase; updatedAt: number; lastOperationId: string | null },
  lastOperation: { finishedAt: number | null } | null,
): number | null {
  if (space.phase !== 'stopped') return null;
  if (!lastOperation) return space.updatedAt;
  return lastOperation.finishedAt;
}

export interface DormancyFacts {
  /** dormantSince(); null: not dormant */
  since: number | null;
  /** the template's deleteAfter (deleteAfterOf); undefined: never deleted */
  deleteAfterMs: number | undefined;
  exempt: boolean;
  /** the last warning sent: when, for the period that started when (its `since`), announcing which deletion time */
  warnedAt: number | null;
  warnedSince: number | null;
  warnedDeletesAt: number | null;
}

/** Whether the recorded warning belongs to the current dormancy period (a start or update since resets it). */
export function warnedThisPeriod(f: DormancyFacts): boolean {
  return f.since !== null && f.warnedAt !== null && f.warnedSince === f.since;
}

/** When the space is deleted if nothing happens, or null when it never is (the view's `deletesAt`). */
export function dormantDeletesAt(f: DormancyFacts): number | null {
  if (f.since === null || f.deleteAfterMs === undefined || f.exempt) return null;
  const scheduled = f.since + f.deleteAfterMs;
  return warnedThisPeriod(f) ? Math.max(scheduled, f.warnedDeletesAt ?? scheduled) : scheduled;
}

export type DormancyStep = { action: 'none' } | { action: 'warn'; deletesAt: number } | { action: 'delete'; deletesAt: number };

/**
 * What the cleanup sweep does about one space now: warn (once per period, from `warningMs`
 * before the deletion), delete (only once warned and the announced time has come), or nothing.
 */
export function dormancyStep(f: DormancyFacts, warningMs: number, now: number): DormancyStep {
  const deletesAt = dormantDeletesAt(f);
  if (deletesAt === null) return { action: 'none' };
  if (!warnedThisPeriod(f)) return now >= deletesAt - warningMs ? { action: 'warn', deletesAt: Math.max(deletesAt, now + warningMs) } : { action: 'none' };
  return now >= deletesAt ? { action: 'delete', deletesAt } : { action: 'none' };
}
