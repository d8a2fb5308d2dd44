import { loadConfig } from '../../../core/config';
import { loggerFor, readableDestination, readableMessage } from '../../../cli/log-output';
import { createLogger } from '../../../core/logger';

function capture(level: 'info' | 'debug' = 'info') {
  const out: string[] = [];
  const logger = createLogger(level, 'knot', readableDestination((t) => void out.push(t), false));
  return { logger, text: () => out.join('') };
}

describe('readable log lines', () => {
  it('are one line per entry: time, level, part, message, the other fields as key=value', () => {
    const { logger, text } = capture();
    logger.child({ part: 'worker' }).info({ taskQueue: 'knot', store: 'sqlite /tmp/x.db', schedules: { autoStop: 'created' } }, 'worker polling');
    expect(text()).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: \[worker\] worker polling taskQueue=knot store="sqlite \/tmp\/x.db" schedules=\{"autoStop":"created"\}\n$/);
    expect(text()).not.toMatch(/pid|hostname|"level"/);
  });

  it('say a request as method, path, status and time', () => {
    expect(readableMessage({ level: 40, msg: 'request completed', part: 'api', req: { id: 'r1', method: 'GET', url: '/api/v1/spaces', remoteAddress: '127.0.0.1' }, res: { statusCode: 404 }, responseTime: 7 })).toBe(
      '[api] GET /api/v1/spaces 404 7 ms',
    );
  });

  it('give an error its message, and its stack from level error on', () => {
    const { logger, text } = capture();
    logger.warn({ err: new Error('volume busy') }, 'retrying');
    logger.error({ err: new Error('nomad down') }, 'worker stopped with an error');
    const [warn, ...error] = text().trimEnd().split('\n');
    expect(warn).toMatch(/WARN: retrying err="volume busy"$/);
    expect(error[0]).toMatch(/ERROR: worker stopped with an error err="nomad down"$/);
    expect(error[1]).toMatch(/^\s+at /);
  });

  it('have secrets redacted like the JSON lines', () => {
    const { logger, text } = capture();
    logger.info({ token: 'knot_secret1', password: 'hunter22', server: { encrypt: 'a2V5' }, req: { headers: { authorization: 'Bearer knot_secret2' } } }, 'configured');
    expect(text()).toContain('token=[redacted]');
    expect(text()).toContain('password=[redacted]');
    expect(text()).not.toMatch(/knot_secret|hunter22|a2V5/);
  });

  it('keep the level: debug entries only when log.level asks for them', () => {
    const { logger, text } = capture('info');
    logger.debug('webpack report');
    expect(text()).toBe('');
  });
});

describe('loggerFor', () => {
  it('follows log.format, with auto deciding by the terminal', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      loggerFor(loadConfig('log:\n  format: pretty'), 'knot', false).info('readable');
      loggerFor(loadConfig(''), 'knot', true).info('readable on a terminal');
    } finally {
      write.mockRestore();
    }
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');
    expect(written).toHaveLength(2);
    written.forEach((w, i) => (written[i] = w.replace(ansi, '')));
    expect(written[0]).toMatch(/INFO: readable\n$/);
    expect(written[1]).toMatch(/INFO: readable on a terminal\n$/);
  });
});
