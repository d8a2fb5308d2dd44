/** How `knot space show` tells a space's agent link and services. */
import { agentLine, servicesLine } from '../../../cli/space-commands';
import type { Space } from '../../../client';

type Agent = Space['status']['agent'];
const base: Agent = { state: 'connected', since: '2026-12-07T10:00:00.000Z', version: '0.1.0', services: { terminal: true }, sessions: 2, lastSeen: null, lastActivity: null, connected: true };

describe('space show: agent lines', () => {
  it.each<[string, Partial<Agent>, string, string]>([
    ['connected', {}, 'connected since 2026-12-07T10:00:00.000Z (agent 0.1.0, 2 sessions)', 'terminal'],
    ['one session, every service', { sessions: 1, services: { terminal: true, ssh: true, codeServer: true, ports: [80, 8080] } }, 'connected since 2026-12-07T10:00:00.000Z (agent 0.1.0, 1 session)', 'terminal, ssh, code-server, ports 80, 8080'],
    ['connected with nothing to offer', { services: {} }, 'connected since 2026-12-07T10:00:00.000Z (agent 0.1.0, 2 sessions)', 'none'],
    ['disconnected', { state: 'disconnected', connected: false }, 'disconnected since 2026-12-07T10:00:00.000Z', '-'],
    ['timeout says what to check', { state: 'timeout', connected: false }, 'timeout since 2026-12-07T10:00:00.000Z — the agent has not linked; can the space reach the server URL?', '-'],
    ['connecting, no since', { state: 'connecting', since: null, connected: false }, 'connecting', '-'],
  ])('%s', (_name, patch, line, services) => {
    const a = { ...base, ...patch };
    expect(agentLine(a)).toBe(line);
    expect(servicesLine(a)).toBe(services);
  });
});
