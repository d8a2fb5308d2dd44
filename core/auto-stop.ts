/**
 * When the auto-stop sweep stops a running space: pure rules, evaluated in a fixed order so the
 * recorded reason is predictable (max uptime, then the template's schedule, then idleness).
 */
import { parseDuration } from './duration';
import { isWithinSchedule, type Schedule } from './template';

/** What the rules read from a template version's content. */
export interface AutoStopTemplate {
  maxUptime?: string;
  schedule?: Schedule;
  idleTimeout?: string;
}

/** What the rules read from the agent state; null when the agent never reported (or expired on Redis). */
export interface AutoStopAgent {
  lastActivity: number | null;
}

export interface AutoStopInput {
  /** when the space last became running (ms since the epoch) */
  startedAt: number;
  /** the owner's IANA time zone: schedules are wall-clock hours where the owner lives */
  timezone: string;
  template: AutoStopTemplate;
  agent: AutoStopAgent | null;
  /** `server.schedules.idle_timeout` in ms; 0 disables the global default */
  globalIdleTimeoutMs: number;
  now: number;
}

export interface AutoStopDecision {
  stop: boolean;
  /** what people read: `auto-stop: idle for 30m` */
  reason: string;
  /** the operation's reason (core/autostart.ts AutoReason): `max uptime`, `schedule`, `idle`; '' when not stopping */
  code: '' | 'max uptime' | 'schedule' | 'idle';
}

/** `90m` → `1h30m`, `30000` → `30s`: the same shape templates use, for reasons people read. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return out || '0s';
}

/** A template duration in ms, or null when absent, malformed or zero (zero means "no limit"). */
function positiveDuration(text: string | undefined): number | null {
  if (text === undefined) return null;
  const ms = parseDuration(text);
  return ms !== undefined && ms > 0 ? ms : null;
}

/**
 * Whether `now` is inside the template's schedule in `timezone`. A time zone the runtime does not
 * know (a bad user record) falls back to UTC rather than exempting the space from its schedule.
 */
function scheduleCheck(schedule: Schedule, now: number, timezone: string): { inside: boolean; zone: string } {
  try {
    return { inside: isWithinSchedule(schedule, new Date(now), timezone), zone: timezone };
  } catch {
    return { inside: isWithinSchedule(schedule, new Date(now), 'UTC'), zone: 'UTC' };
  }
}

/**
 * The decision for one running space.
 * - max uptime: measured from `startedAt`.
 * - schedule: outside every allowed window on the owner's wall clock.
 * - idle: the template's `idleTimeout`, else the global one; measured from the later of the last
 *   reported activity and the start (a space just started is not idle). Without any agent report
 *   nothing is known about activity, so idleness never stops such a space: a template whose job
 *   runs no agent must not be stopped every sweep.
 */
export function autoStopDecision(input: AutoStopInput): AutoStopDecision {
  const { template, now } = input;

  const maxUptime = positiveDuration(template.maxUptime);
  if (maxUptime !== null && now - input.startedAt >= maxUptime) {
    return { stop: true, code: 'max uptime', reason: `auto-stop: max uptime ${formatDuration(maxUptime)} reached` };
  }

  if (template.schedule) {
    const { inside, zone } = scheduleCheck(template.schedule, now, input.timezone);
    if (!inside) return { stop: true, code: 'schedule', reason: `auto-stop: outside the template schedule (${zone})` };
  }

  const idleTimeout = positiveDuration(template.idleTimeout) ?? (input.globalIdleTimeoutMs > 0 ? input.globalIdleTimeoutMs : null);
  if (idleTimeout !== null && input.agent) {
    const activeAt = Math.max(input.agent.lastActivity ?? 0, input.startedAt);
    if (now - activeAt >= idleTimeout) return { stop: true, code: 'idle', reason: `auto-stop: idle for ${formatDuration(idleTimeout)}` };
  }

  return { stop: false, reason: '', code: '' };
}
