import { AgentConfigError, CONFIG_EXIT_CODE, DEFAULT_TERMINAL_KEEP_MS, linkUrl, parseAgentConfig, parsePortList } from '../../../agent/config';
import { DEFAULT_PING_PORT, LINK_PATH } from '../../../link/protocol';

const base = { KNOT_SERVER: 'https://knot.example.com/', KNOT_AGENT_TOKEN: 'tok-123' };

function configError(fn: () => unknown): AgentConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AgentConfigError) return e;
    throw e;
  }
  throw new Error('expected an AgentConfigError');
}

describe('parseAgentConfig', () => {
  it('reads the environment with defaults', () => {
    expect(parseAgentConfig(base)).toEqual({
      server: 'https://knot.example.com',
      spaceId: null,
      token: 'tok-123',
      user: null,
      sshPort: null,
      codeServerPort: null,
      httpPorts: [],
      tcpPorts: [],
      logLevel: 'info',
      pingPort: DEFAULT_PING_PORT,
      terminalKeepMs: DEFAULT_TERMINAL_KEEP_MS,
      hiddenPorts: [],
    });
  });

  it('reads every variable', () => {
    const c = parseAgentConfig({
      ...base,
      KNOT_SPACEID: 'sp1',
      KNOT_USER: 'alice',
      KNOT_SSH_PORT: '22',
      KNOT_CODE_SERVER_PORT: '49374',
      KNOT_HTTP_PORT: '80,8080=web',
      KNOT_TCP_PORT: '5432=db',
      KNOT_LOGLEVEL: 'DEBUG',
      KNOT_AGENT_PORT: '3100',
      KNOT_TERMINAL_KEEP_SECONDS: '30',
    });
    expect(c).toMatchObject({
      spaceId: 'sp1',
      user: 'alice',
      sshPort: 22,
      codeServerPort: 49374,
      httpPorts: [{ port: 80 }, { port: 8080, name: 'web' }],
      tcpPorts: [{ port: 5432, name: 'db' }],
      logLevel: 'debug',
      pingPort: 3100,
      terminalKeepMs: 30_000,
    });
  });

  it('lets flags win over variables', () => {
    const c = parseAgentConfig(
      { ...base, KNOT_SSH_PORT: '22', KNOT_LOGLEVEL: 'warn', KNOT_AGENT_PORT: '3100' },
      { server: 'http://10.0.0.1:3000', token: 'flag-token', sshPort: '2222', logLevel: 'error', pingPort: '0', terminalKeep: '1.5', spaceId: 'x', user: 'bob', httpPort: '81', tcpPort: '6000', codeServerPort: '8443' },
    );
    expect(c).toMatchObject({ server: 'http://10.0.0.1:3000', token: 'flag-token', sshPort: 2222, logLevel: 'error', pingPort: 0, terminalKeepMs: 1500, spaceId: 'x', user: 'bob', httpPorts: [{ port: 81 }], tcpPorts: [{ port: 6000 }], codeServerPort: 8443 });
  });

  it('names the missing server or token, with exit code 2', () => {
    const noServer = configError(() => parseAgentConfig({ KNOT_AGENT_TOKEN: 't' }));
    expect(noServer.message).toContain('KNOT_SERVER');
    expect(noServer.exitCode).toBe(CONFIG_EXIT_CODE);
    expect(CONFIG_EXIT_CODE).toBe(2);
    expect(configError(() => parseAgentConfig({ KNOT_SERVER: 'https://k', KNOT_AGENT_TOKEN: '  ' })).message).toContain('KNOT_AGENT_TOKEN');
  });

  it('never puts the token in an error message', () => {
    const e = configError(() => parseAgentConfig({ ...base, KNOT_SSH_PORT: 'nope' }));
    expect(e.message).toContain('KNOT_SSH_PORT');
    expect(e.message).not.toContain('tok-123');
  });

  it('refuses a server that is not an http(s) URL', () => {
    expect(configError(() => parseAgentConfig({ ...base, KNOT_SERVER: 'knot.example.com' })).message).toContain('KNOT_SERVER');
    expect(configError(() => parseAgentConfig({ ...base, KNOT_SERVER: 'ftp://knot' })).message).toContain('http');
  });

  it('takes the ping port from Nomad when not set, and off', () => {
    expect(parseAgentConfig({ ...base, NOMAD_PORT_knot_port: '23456' }).pingPort).toBe(23456);
    expect(parseAgentConfig({ ...base, NOMAD_PORT_knot_port: '23456', KNOT_AGENT_PORT: '3001' }).pingPort).toBe(3001);
    expect(parseAgentConfig({ ...base, KNOT_AGENT_PORT: 'off' }).pingPort).toBeNull();
    expect(configError(() => parseAgentConfig({ ...base, KNOT_AGENT_PORT: '70000' })).message).toContain('KNOT_AGENT_PORT');
  });

  it('refuses bad values by name', () => {
    expect(configError(() => parseAgentConfig({ ...base, KNOT_LOGLEVEL: 'loud' })).message).toContain('KNOT_LOGLEVEL');
    expect(configError(() => parseAgentConfig({ ...base, KNOT_TERMINAL_KEEP_SECONDS: '-1' })).message).toContain('KNOT_TERMINAL_KEEP_SECONDS');
    expect(configError(() => parseAgentConfig({ ...base, KNOT_CODE_SERVER_PORT: '0' })).message).toContain('KNOT_CODE_SERVER_PORT');
    expect(configError(() => parseAgentConfig({ ...base, KNOT_HTTP_PORT: '80=bad name' })).message).toContain('KNOT_HTTP_PORT');
  });
});

describe('parsePortList', () => {
  it('reads plain and named ports, tolerating spaces and empty items', () => {
    expect(parsePortList(' 80 , 8080=web,,9000 ', 'X')).toEqual([{ port: 80 }, { port: 8080, name: 'web' }, { port: 9000 }]);
    expect(parsePortList(undefined, 'X')).toEqual([]);
  });

  it('refuses non-ports', () => {
    expect(() => parsePortList('80,http', 'KNOT_HTTP_PORT')).toThrow(/KNOT_HTTP_PORT/);
    expect(() => parsePortList('0', 'KNOT_TCP_PORT')).toThrow(/KNOT_TCP_PORT/);
  });
});

describe('linkUrl', () => {
  it('maps http to ws and https to wss, keeping a path prefix', () => {
    expect(linkUrl('http://10.0.0.1:3000', LINK_PATH)).toBe(`ws://10.0.0.1:3000${LINK_PATH}`);
    expect(linkUrl('https://example.com/knot', LINK_PATH)).toBe(`wss://example.com/knot${LINK_PATH}`);
  });
});
