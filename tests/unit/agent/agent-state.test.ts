import { AgentState } from '../../../agent/agent-state';
import { shellEnv } from '../../../agent/agent';
import { formatLogLine } from '../../../agent/logger';
import type { AgentStateReport } from '../../../link/protocol';

describe('AgentState', () => {
  afterEach(() => jest.useRealTimers());

  it('reports only real changes', () => {
    const s = new AgentState('1.2.3');
    const seen: AgentStateReport[] = [];
    s.subscribe((r) => seen.push(r));
    s.setServices({ terminal: true, ports: [80] });
    s.setServices({ terminal: true, ports: [80] });
    s.setSessions(0);
    s.setSessions(2);
    expect(seen).toEqual([
      { version: '1.2.3', services: { terminal: true, ports: [80] }, sessions: 0, lastActivity: null },
      { version: '1.2.3', services: { terminal: true, ports: [80] }, sessions: 2, lastActivity: null },
    ]);
  });

  it('coalesces session counts within a second, the first change at once', () => {
    jest.useFakeTimers({ now: 2_000_000 });
    const s = new AgentState('v', { sessionsReportMs: 1_000 });
    const seen: number[] = [];
    s.subscribe((r) => seen.push(r.sessions));
    s.setSessions(1); // at once
    s.setSessions(2);
    s.setSessions(1);
    s.setSessions(3);
    expect(seen).toEqual([1]);
    jest.advanceTimersByTime(1_000);
    expect(seen).toEqual([1, 3]); // one report with the newest count
    jest.advanceTimersByTime(5_000);
    s.setSessions(0); // a quiet second later: at once again
    expect(seen).toEqual([1, 3, 0]);
    s.close();
  });

  it('coalesces activity to one report per interval, carrying the newest time', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const s = new AgentState('v', { activityReportMs: 5_000 });
    const seen: (number | null)[] = [];
    s.subscribe((r) => seen.push(r.lastActivity));
    s.touch(); // the first activity goes out at once
    expect(seen).toEqual([1_000_000]);
    jest.advanceTimersByTime(1_000);
    s.touch();
    jest.advanceTimersByTime(1_000);
    s.touch();
    expect(seen).toHaveLength(1); // held back
    jest.advanceTimersByTime(3_000);
    expect(seen).toEqual([1_000_000, 1_002_000]);
    jest.advanceTimersByTime(10_000);
    s.touch(); // quiet long enough: at once again
    expect(seen).toEqual([1_000_000, 1_002_000, 1_015_000]);
    s.close();
  });

  it('stops telling a listener after unsubscribe', () => {
    const s = new AgentState('v');
    const seen: unknown[] = [];
    const off = s.subscribe((r) => seen.push(r));
    off();
    s.setSessions(1);
    expect(seen).toEqual([]);
  });
});

describe('shellEnv', () => {
  it('drops the agent token and sets TERM', () => {
    const env = shellEnv({ KNOT_AGENT_TOKEN: 'secret', HOME: '/home/a', TERM: 'dumb', KNOT_SPACEID: 'x' });
    expect(env).toEqual({ HOME: '/home/a', TERM: 'xterm-256color', KNOT_SPACEID: 'x' });
  });
});

describe('formatLogLine', () => {
  it('turns a pino JSON line into a readable one', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2025, 0, 2, 3, 4, 5, 6), pid: 1, hostname: 'h', name: 'knot-agent', msg: 'link down', code: 4401, err: { message: 'boom' } });
    expect(formatLogLine(line)).toBe('03:04:05.006 WARN  link down code=4401 err="boom"\n');
  });

  it('passes through what is not JSON', () => {
    expect(formatLogLine('plain')).toBe('plain');
  });
});
