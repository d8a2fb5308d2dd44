import { autoStopDecision, formatDuration, type AutoStopInput } from '../../../core/auto-stop';
import type { Schedule } from '../../../core/template';

const MIN = 60_000;
const HOUR = 60 * MIN;
const at = (iso: string) => Date.parse(iso);

const officeHours: Schedule = {
  mon: [{ from: '08:00', to: '18:00' }],
  tue: [{ from: '08:00', to: '18:00' }],
  wed: [{ from: '08:00', to: '18:00' }],
  thu: [{ from: '08:00', to: '18:00' }],
  fri: [{ from: '08:00', to: '18:00' }],
};

function input(over: Partial<AutoStopInput>): AutoStopInput {
  const now = over.now ?? at('2025-03-26T10:00:00Z'); // a Wednesday
  return { startedAt: now - 10 * MIN, timezone: 'UTC', template: {}, agent: null, globalIdleTimeoutMs: 0, now, ...over };
}

/** The operation's reason each message goes with (core/autostart.ts AutoReason). */
const codeOf = (reason: string) => (reason.includes('max uptime') ? 'max uptime' : reason.includes('schedule') ? 'schedule' : reason.includes('idle') ? 'idle' : '');

describe('autoStopDecision', () => {
  const now = at('2025-03-26T10:00:00Z');

  it.each<[string, Partial<AutoStopInput>, string]>([
    ['no rules', {}, ''],
    ['max uptime not reached', { template: { maxUptime: '8h' }, startedAt: now - 7 * HOUR }, ''],
    ['max uptime reached exactly', { template: { maxUptime: '8h' }, startedAt: now - 8 * HOUR }, 'auto-stop: max uptime 8h reached'],
    ['max uptime exceeded', { template: { maxUptime: '2m' }, startedAt: now - 3 * MIN }, 'auto-stop: max uptime 2m reached'],
    ['max uptime 1h30m', { template: { maxUptime: '90m' }, startedAt: now - 2 * HOUR }, 'auto-stop: max uptime 1h30m reached'],
    ['max uptime zero means no limit', { template: { maxUptime: '0s' }, startedAt: now - 100 * HOUR }, ''],
    ['max uptime wins over schedule', { template: { maxUptime: '1h', schedule: {} }, startedAt: now - 2 * HOUR }, 'auto-stop: max uptime 1h reached'],
  ])('max uptime: %s', (_name, over, reason) => {
    const d = autoStopDecision(input({ now, ...over }));
    expect(d).toEqual({ stop: reason !== '', reason, code: codeOf(reason) });
  });

  // Europe/Berlin switches to summer time on 2025-03-30: 06:30 UTC is 07:30 before and 08:30 after.
  it.each<[string, string, string, string]>([
    ['Berlin before DST: 07:30 local, outside', '2025-03-28T06:30:00Z', 'Europe/Berlin', 'auto-stop: outside the template schedule (Europe/Berlin)'],
    ['Berlin after DST: 08:30 local, inside', '2025-03-31T06:30:00Z', 'Europe/Berlin', ''],
    ['UTC same instant: 06:30, outside', '2025-03-31T06:30:00Z', 'UTC', 'auto-stop: outside the template schedule (UTC)'],
    ['New York 09:00 local (13:00 UTC), inside', '2025-03-31T13:00:00Z', 'America/New_York', ''],
    ['New York 18:00 local is the exclusive end', '2025-03-31T22:00:00Z', 'America/New_York', 'auto-stop: outside the template schedule (America/New_York)'],
    ['Tokyo Saturday 10:00 (no windows), outside', '2025-03-29T01:00:00Z', 'Asia/Tokyo', 'auto-stop: outside the template schedule (Asia/Tokyo)'],
    ['Tokyo Friday 23:30 UTC is Saturday local', '2025-03-28T14:30:00Z', 'Asia/Tokyo', 'auto-stop: outside the template schedule (Asia/Tokyo)'],
    ['unknown zone falls back to UTC (10:00 Wed, inside)', '2025-03-26T10:00:00Z', 'Mars/Olympus', ''],
    ['unknown zone falls back to UTC (20:00 Wed, outside)', '2025-03-26T20:00:00Z', 'Mars/Olympus', 'auto-stop: outside the template schedule (UTC)'],
  ])('schedule: %s', (_name, iso, timezone, reason) => {
    const n = at(iso);
    const d = autoStopDecision(input({ now: n, startedAt: n - MIN, timezone, template: { schedule: officeHours } }));
    expect(d).toEqual({ stop: reason !== '', reason, code: codeOf(reason) });
  });

  it.each<[string, Partial<AutoStopInput>, string]>([
    ['template idle timeout reached', { template: { idleTimeout: '30m' }, startedAt: now - 2 * HOUR, agent: { lastActivity: now - 31 * MIN } }, 'auto-stop: idle for 30m'],
    ['template idle timeout not reached', { template: { idleTimeout: '30m' }, startedAt: now - 2 * HOUR, agent: { lastActivity: now - 29 * MIN } }, ''],
    ['global idle timeout applies without a template one', { globalIdleTimeoutMs: HOUR, startedAt: now - 3 * HOUR, agent: { lastActivity: now - 2 * HOUR } }, 'auto-stop: idle for 1h'],
    ['template idle timeout overrides the global one', { globalIdleTimeoutMs: 10 * MIN, template: { idleTimeout: '1h' }, startedAt: now - 3 * HOUR, agent: { lastActivity: now - 20 * MIN } }, ''],
    ['global 0 disables', { globalIdleTimeoutMs: 0, startedAt: now - 3 * HOUR, agent: { lastActivity: now - 2 * HOUR } }, ''],
    ['a fresh start is not idle', { template: { idleTimeout: '30m' }, startedAt: now - 5 * MIN, agent: { lastActivity: now - 5 * HOUR } }, ''],
    ['agent reported but no activity yet: idle since start', { template: { idleTimeout: '30m' }, startedAt: now - 45 * MIN, agent: { lastActivity: null } }, 'auto-stop: idle for 30m'],
    ['no agent report: idleness unknown, never stopped for it', { template: { idleTimeout: '30m' }, startedAt: now - 5 * HOUR, agent: null }, ''],
  ])('idle: %s', (_name, over, reason) => {
    const d = autoStopDecision(input({ now, ...over }));
    expect(d).toEqual({ stop: reason !== '', reason, code: codeOf(reason) });
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0s'],
    [45_000, '45s'],
    [30 * MIN, '30m'],
    [90 * MIN, '1h30m'],
    [8 * HOUR, '8h'],
    [HOUR + 5_000, '1h5s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
