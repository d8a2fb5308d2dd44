import { AGENT_CONNECT_TIMEOUT_MS, agentStatus, type AgentLinkRecord, type AgentStatus, type SpaceForAgentStatus } from '../../../core/agent-status';

const T = Date.parse('2026-03-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const running = (startedAt = T): SpaceForAgentStatus => ({ phase: 'running', startedAt, updatedAt: startedAt });
const starting = (updatedAt = T): SpaceForAgentStatus => ({ phase: 'starting', startedAt: null, updatedAt });
const stopped: SpaceForAgentStatus = { phase: 'stopped', startedAt: null, updatedAt: T };

function link(over: Partial<AgentLinkRecord> = {}): AgentLinkRecord {
  return { connected: true, lastSeen: T + 5000, since: T + 1000, lastActivity: T + 2000, services: { terminal: true, ports: [8080] }, version: '1.0.0', sessions: 2, ...over };
}

const down = { services: {}, sessions: 0, connected: false };

describe('agentStatus', () => {
  it.each<[string, SpaceForAgentStatus, AgentLinkRecord | null, number, Partial<AgentStatus>]>([
    ['a starting space without a record: connecting since the start', starting(), null, T + 10_000, { state: 'connecting', since: iso(T), ...down }],
    ['a running space without a record: connecting since it started', running(), null, T + 10_000, { state: 'connecting', since: iso(T), ...down }],
    [
      'a running space whose agent never linked, past the timeout: timeout since then',
      running(),
      null,
      T + AGENT_CONNECT_TIMEOUT_MS + 1,
      { state: 'timeout', since: iso(T + AGENT_CONNECT_TIMEOUT_MS), ...down },
    ],
    ['exactly at the timeout: still connecting', running(), null, T + AGENT_CONNECT_TIMEOUT_MS, { state: 'connecting' }],
    [
      'a connected link of a running space: connected with its services',
      running(),
      link(),
      T + 6000,
      { state: 'connected', since: iso(T + 1000), services: { terminal: true, ports: [8080] }, sessions: 2, connected: true, version: '1.0.0', lastSeen: iso(T + 5000), lastActivity: iso(T + 2000) },
    ],
    ['a connected link without since: since its last refresh', running(), link({ since: null }), T + 6000, { state: 'connected', since: iso(T + 5000) }],
    ['a connected link of a starting space: connected', starting(), link(), T + 6000, { state: 'connected', connected: true }],
    [
      'a link that went down after the start: disconnected since then',
      running(),
      link({ connected: false, since: T + 9000 }),
      T + 10_000,
      { state: 'disconnected', since: iso(T + 9000), ...down, version: '1.0.0', lastActivity: iso(T + 2000) },
    ],
    [
      'a record from before this start (the last run), connecting',
      running(T + 60_000),
      link({ connected: false, since: T + 9000 }),
      T + 70_000,
      { state: 'connecting', since: iso(T + 60_000), ...down },
    ],
    [
      'a record from before this start, past the timeout: timeout',
      running(T + 60_000),
      link({ connected: false, since: T + 9000 }),
      T + 60_000 + AGENT_CONNECT_TIMEOUT_MS + 1,
      { state: 'timeout', ...down },
    ],
    ['a stopped space without a record: disconnected, since unknown', stopped, null, T, { state: 'disconnected', since: null, ...down, version: null, lastSeen: null, lastActivity: null }],
    [
      'a stopped space whose record still says connected: disconnected, offering nothing',
      stopped,
      link(),
      T + 6000,
      { state: 'disconnected', since: iso(T + 1000), ...down, lastActivity: iso(T + 2000) },
    ],
    ['a stopping space: disconnected', { phase: 'stopping', startedAt: T, updatedAt: T }, link({ connected: false, since: T + 3000 }), T + 4000, { state: 'disconnected', since: iso(T + 3000) }],
    ['a failed space: disconnected', { phase: 'failed', startedAt: null, updatedAt: T }, null, T, { state: 'disconnected' }],
  ])('%s', (_name, space, record, now, expected) => {
    const status = agentStatus(space, record, now);
    expect(status).toMatchObject(expected);
    // kept for earlier clients: always the same as the state
    expect(status.connected).toBe(status.state === 'connected');
    if (!status.connected) expect(status).toMatchObject({ services: {}, sessions: 0 });
  });

  it('keeps the key order the view has always had (the JSON clients see)', () => {
    expect(Object.keys(agentStatus(running(), link(), T + 6000))).toEqual(['version', 'lastSeen', 'lastActivity', 'state', 'since', 'services', 'sessions', 'connected']);
    for (const [space, l, now] of [
      [stopped, link(), T + 6000],
      [running(), null, T + 10_000],
      [running(), null, T + AGENT_CONNECT_TIMEOUT_MS + 1],
      [running(), link({ connected: false, since: T + 9000 }), T + 10_000],
    ] as const) {
      expect(Object.keys(agentStatus(space, l, now))).toEqual(['version', 'lastSeen', 'lastActivity', 'services', 'sessions', 'connected', 'state', 'since']);
    }
  });

  it('formats its times as toISOString does, fractions and far dates included', () => {
    const odd = link({ lastSeen: T + 0.5, since: -1, lastActivity: 253_402_300_800_000 });
    expect(agentStatus(running(-10), odd, T)).toMatchObject({ lastSeen: new Date(T + 0.5).toISOString(), since: new Date(-1).toISOString(), lastActivity: new Date(253_402_300_800_000).toISOString() });
  });

  it('takes another connect timeout', () => {
    expect(agentStatus(running(), null, T + 1001, 1000)).toMatchObject({ state: 'timeout', since: iso(T + 1000) });
  });
});
