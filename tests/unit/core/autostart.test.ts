import { autostartScheduleProblem, nextAllowedAt, nextAutostartAt } from '../../../core/autostart';

const at = (iso: string) => Date.parse(iso);
const weekdays = { mon: [{ from: '08:00', to: '18:00' }], tue: [{ from: '08:00', to: '18:00' }] };

describe('autostart', () => {
  it('is due at 09:00 Monday on the owner\'s wall clock, not on Sunday', () => {
    // Sunday 2025-03-30 12:00 UTC, just after the Paris DST change: Monday 09:00 Paris is 07:00 UTC
    const next = nextAutostartAt({ days: ['mon'], at: '09:00' }, at('2025-03-30T12:00:00Z'), 'Europe/Paris');
    expect(new Date(next!).toISOString()).toBe('2025-03-31T07:00:00.000Z');
    // the due instant itself is not "after" it: the next one is a week later
    expect(new Date(nextAutostartAt({ days: ['mon'], at: '09:00' }, next!, 'Europe/Paris')!).toISOString()).toBe('2025-04-07T07:00:00.000Z');
    expect(new Date(nextAutostartAt({ days: ['mon', 'sun'], at: '09:00' }, at('2025-03-29T12:00:00Z'), 'America/New_York')!).toISOString()).toBe('2025-03-30T13:00:00.000Z');
  });

  it('refuses an autostart outside the template windows, naming the day', () => {
    const now = at('2025-03-30T12:00:00Z');
    expect(autostartScheduleProblem({ days: ['mon', 'tue'], at: '09:00' }, 'Europe/Paris', weekdays, 'Europe/Paris', now)).toBeNull();
    expect(autostartScheduleProblem({ days: ['mon', 'sun'], at: '09:00' }, 'Europe/Paris', weekdays, 'Europe/Paris', now)).toMatch(/09:00 on sun .*outside/);
    expect(autostartScheduleProblem({ days: ['mon'], at: '07:30' }, 'Europe/Paris', weekdays, 'Europe/Paris', now)).toMatch(/outside/);
    // 09:00 in New York is 15:00 in Paris: inside the owner's window
    expect(autostartScheduleProblem({ days: ['mon'], at: '09:00', timezone: 'America/New_York' }, 'America/New_York', weekdays, 'Europe/Paris', now)).toBeNull();
    expect(autostartScheduleProblem({ days: ['sun'], at: '09:00' }, 'UTC', undefined, 'UTC', now)).toBeNull();
  });

  it('tells the next allowed start outside the windows', () => {
    // Sunday noon Paris → Monday 08:00 Paris
    expect(new Date(nextAllowedAt(weekdays, at('2025-03-30T10:00:00Z'), 'Europe/Paris')!).toISOString()).toBe('2025-03-31T06:00:00.000Z');
    // Monday 19:00 Paris → Tuesday 08:00
    expect(new Date(nextAllowedAt(weekdays, at('2025-03-31T17:00:00Z'), 'Europe/Paris')!).toISOString()).toBe('2025-04-01T06:00:00.000Z');
    const inside = at('2025-03-31T08:00:00Z');
    expect(nextAllowedAt(weekdays, inside, 'Europe/Paris')).toBe(inside);
    expect(nextAllowedAt({}, inside, 'UTC')).toBeNull();
  });
});
