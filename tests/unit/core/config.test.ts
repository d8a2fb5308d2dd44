import { configKeys, envNameOf, loadConfig, redactConfig, storeChoice } from '../../../core/config';
import { KnotError } from '../../../core/errors';
import { pickSrvTarget, resolveHost } from '../../../core/srv';

const SEED_001 = `
log:
  level: info
server:
  listen: 0.0.0.0:3000
  download_path: /srv
  url: "https://knot.example.com"
  wildcard_domain: "*.knot.example.com"
  encrypt: "${Buffer.alloc(32, 1).toString('base64')}"

  mysql:
      database: knot
      enabled: true
      host: "db.internal"
      password: "secret"
      user: "knot"

  redis:
    enabled: true
    host: srv+redis.service.consul
    password: ""
    db: 0

  nomad:
      addr: "http://nomad.service.consul:4646"
      token: ""
`;

function configError(text: string, env: Record<string, string> = {}): KnotError {
  try {
    loadConfig(text, env);
  } catch (e) {
    if (e instanceof KnotError) return e;
    throw e;
  }
  throw new Error('expected a configuration error');
}

describe('config', () => {
  it('accepts the seed 001 file', () => {
    const cfg = loadConfig(SEED_001);
    expect(cfg.server.listen).toBe('0.0.0.0:3000');
    expect(cfg.server.mysql).toMatchObject({ enabled: true, host: 'db.internal', database: 'knot', user: 'knot', port: 3306 });
    expect(cfg.server.sqlite.enabled).toBe(false);
    expect(cfg.server.redis.host).toBe('srv+redis.service.consul');
    expect(cfg.server.nomad.addr).toBe('http://nomad.service.consul:4646');
  });

  it('defaults to embedded SQLite under the data dir', () => {
    const cfg = loadConfig('');
    expect(cfg.server.sqlite).toEqual({ enabled: true, path: '.data/knot.db' });
    expect(cfg.server.temporal).toMatchObject({ address: '', namespace: 'default', task_queue: 'knot', ui_port: 8233 });
    expect(cfg.log.level).toBe('info');
    expect(cfg.log.format).toBe('auto');
  });

  it('lets KNOT_* env override every key, with types', () => {
    const cfg = loadConfig(SEED_001, {
      KNOT_SERVER_MYSQL_PORT: '3307',
      KNOT_SERVER_REDIS_ENABLED: 'false',
      KNOT_SERVER_TEMPORAL_TASK_QUEUE: 'spaces',
      KNOT_LOG_LEVEL: 'debug',
      KNOT_LOG_FORMAT: 'json',
      KNOT_BOOTSTRAP_TOKEN: 'bootstrap-token-123456',
    });
    expect(cfg.server.mysql.port).toBe(3307);
    expect(cfg.server.redis.enabled).toBe(false);
    expect(cfg.server.temporal.task_queue).toBe('spaces');
    expect(cfg.log.level).toBe('debug');
    expect(cfg.log.format).toBe('json');
    expect(cfg.server.bootstrap_token).toBe('bootstrap-token-123456');
    for (const key of configKeys()) expect(envNameOf(key)).toMatch(/^KNOT_[A-Z0-9_]+$/);
    expect(configKeys()).toEqual(expect.arrayContaining(['server.nomad.namespace', 'server.sqlite.path', 'server.temporal.address']));
  });

  it.each([
    ['server:\n  listen: nonsense', 'server.listen', /host:port/],
    ['server:\n  mysql:\n    port: abc', 'server.mysql.port', /number/],
    ['server:\n  url: ftp://x', 'server.url', /http/],
    ['log:\n  level: loud', 'log.level', /.+/],
    ['log:\n  format: text', 'log.format', /auto.*pretty.*json/],
    ['server:\n  nomad:\n    adr: x', 'server.nomad', /unknown key.*adr/],
    ['server:\n  encrypt: short', 'server.encrypt', /knot genkey/],
    ['server:\n  mysql:\n    enabled: true', 'server.mysql.user', /required/],
    ['server:\n  badgerdb:\n    enabled: true\n    path: /data/', 'server.badgerdb', /sqlite/],
    ['- a list', '', /mapping/],
    ['server: [unclosed', '', /YAML/],
  ])('rejects %j naming %s', (text, key, reason) => {
    const e = configError(text);
    expect(e.type).toBe('config_invalid');
    expect(e.message).toMatch(reason);
    if (key) expect(e.message).toContain(key);
  });

  it('rejects a bad env override naming the key', () => {
    const e = configError('', { KNOT_SERVER_MYSQL_PORT: '99999' });
    expect(e.message).toContain('server.mysql.port');
  });

  it('redacts secrets for logging', () => {
    const shown = JSON.stringify(redactConfig(loadConfig(SEED_001)));
    expect(shown).not.toContain('secret');
    expect(shown).not.toContain(Buffer.alloc(32, 1).toString('base64'));
  });
});

const SEED_001_REDIS_ONLY = `
log:
  level: info
server:
  listen: 0.0.0.0:3000
  url: "https://knot.example.com"
  encrypt: "${Buffer.alloc(32, 1).toString('base64')}"

  redis:
    enabled: true
    host: srv+redis.service.consul
    password: ""
    db: 0

  nomad:
      addr: "http://nomad.service.consul:4646"
      token: ""
`;

describe('which store runs', () => {
  it('Redis alone: the seed 001 "Without MySQL — Redis" file keeps everything in Redis, no SQLite', () => {
    const cfg = loadConfig(SEED_001_REDIS_ONLY);
    expect(storeChoice(cfg)).toBe('redis');
    expect(cfg.server.sqlite.enabled).toBe(false);
    expect(storeChoice(loadConfig('', { KNOT_SERVER_REDIS_ENABLED: 'true' }))).toBe('redis');
    // choosing "not SQLite" explicitly is still Redis alone
    expect(storeChoice(loadConfig('', { KNOT_SERVER_REDIS_ENABLED: 'true', KNOT_SERVER_SQLITE_ENABLED: 'false' }))).toBe('redis');
  });

  it('MySQL when enabled (Redis, if on, keeps agent state only)', () => {
    const cfg = loadConfig(SEED_001);
    expect(storeChoice(cfg)).toBe('mysql');
    expect(cfg.server.redis.enabled).toBe(true);
  });

  it('SQLite by default, and beside Redis agent state when chosen explicitly (file or env)', () => {
    expect(storeChoice(loadConfig(''))).toBe('sqlite');
    const withSqlite = loadConfig(SEED_001_REDIS_ONLY.replace('  redis:', '  sqlite:\n    enabled: true\n    path: /data/knot.db\n\n  redis:'));
    expect(storeChoice(withSqlite)).toBe('sqlite');
    expect(withSqlite.server.sqlite).toEqual({ enabled: true, path: '/data/knot.db' });
    expect(storeChoice(loadConfig(SEED_001_REDIS_ONLY, { KNOT_SERVER_SQLITE_ENABLED: 'true' }))).toBe('sqlite');
  });

  it('refuses a configuration that enables no store, naming the key', () => {
    const e = configError('', { KNOT_SERVER_SQLITE_ENABLED: 'false' });
    expect(e.type).toBe('config_invalid');
    expect(e.errors.map((x) => x.path)).toEqual(['server.sqlite.enabled']);
    expect(e.message).toMatch(/no store is enabled/);
  });

  it('takes the Redis key prefix, and refuses one with characters a key pattern would trip over', () => {
    expect(loadConfig('').server.redis.prefix).toBe('knot:');
    expect(loadConfig('', { KNOT_SERVER_REDIS_PREFIX: 'team-a:knot:' }).server.redis.prefix).toBe('team-a:knot:');
    expect(configError('', { KNOT_SERVER_REDIS_PREFIX: 'knot*' }).errors[0]?.path).toBe('server.redis.prefix');
  });
});

describe('server.trust_proxy', () => {
  it('is off by default', () => {
    expect(loadConfig('').server.trust_proxy).toBe(false);
  });

  it('takes a hop count or proxy addresses/CIDRs, from YAML or the environment', () => {
    expect(loadConfig('server:\n  trust_proxy: 1\n').server.trust_proxy).toBe(1);
    expect(loadConfig('', { KNOT_SERVER_TRUST_PROXY: '2' }).server.trust_proxy).toBe(2);
    expect(loadConfig('server:\n  trust_proxy: [10.0.0.0/8, "::1", loopback]\n').server.trust_proxy).toEqual(['10.0.0.0/8', '::1', 'loopback']);
    expect(loadConfig('', { KNOT_SERVER_TRUST_PROXY: '192.168.1.10, 172.16.0.0/12' }).server.trust_proxy).toEqual(['192.168.1.10', '172.16.0.0/12']);
    expect(loadConfig('', { KNOT_SERVER_TRUST_PROXY: 'false' }).server.trust_proxy).toBe(false);
  });

  it('refuses `true` (anyone could pick their address) and things that are not addresses', () => {
    for (const bad of ['server:\n  trust_proxy: true\n', 'server:\n  trust_proxy: [not-an-ip]\n', 'server:\n  trust_proxy: [10.0.0.0/33]\n', 'server:\n  trust_proxy: 99\n']) {
      expect(() => loadConfig(bad)).toThrow(/server\.trust_proxy/);
    }
  });
});

describe('server.metrics', () => {
  it('is on, without a token and without a worker listener by default', () => {
    expect(loadConfig('').server.metrics).toEqual({ enabled: true, token: '', worker_listen: '' });
  });

  it('takes a token and a worker listen address; a bad address names the key', () => {
    const cfg = loadConfig('', { KNOT_SERVER_METRICS_TOKEN: 'scrape-me', KNOT_SERVER_METRICS_WORKER_LISTEN: '0.0.0.0:9464' });
    expect(cfg.server.metrics.token).toBe('scrape-me');
    expect(cfg.server.metrics.worker_listen).toBe('0.0.0.0:9464');
    expect(() => loadConfig('', { KNOT_SERVER_METRICS_WORKER_LISTEN: 'nope' })).toThrow(/server\.metrics\.worker_listen/);
    expect(JSON.stringify(redactConfig(cfg))).not.toContain('scrape-me');
  });
});

describe('srv+ hosts', () => {
  it('picks the lowest priority, then the highest weight', () => {
    expect(pickSrvTarget([{ name: 'a', port: 1, priority: 10, weight: 100 }, { name: 'b', port: 2, priority: 5, weight: 1 }, { name: 'c', port: 3, priority: 5, weight: 50 }])?.name).toBe('c');
  });

  it('resolves srv+name through the lookup and leaves plain hosts alone', async () => {
    const lookup = async (name: string) => (name === 'redis.service.consul' ? [{ name: '10.0.0.5', port: 6380, priority: 1, weight: 1 }] : []);
    await expect(resolveHost('srv+redis.service.consul', 6379, lookup)).resolves.toEqual({ host: '10.0.0.5', port: 6380 });
    await expect(resolveHost('redis.local', 6379, lookup)).resolves.toEqual({ host: 'redis.local', port: 6379 });
    await expect(resolveHost('srv+missing', 6379, lookup)).rejects.toThrow(/no records/);
  });
});
