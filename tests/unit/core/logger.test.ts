import { chooseLogFormat, createLogger } from '../../../core/logger';

describe('chooseLogFormat', () => {
  it.each([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['pretty', false, 'pretty'],
    ['pretty', true, 'pretty'],
    ['json', true, 'json'],
    ['json', false, 'json'],
  ] as const)('log.format %s with a terminal on stdout: %s → %s', (configured, tty, expected) => {
    expect(chooseLogFormat(configured, tty)).toBe(expected);
  });
});

describe('createLogger', () => {
  it('writes one JSON object per line to the destination, secrets redacted', () => {
    const lines: string[] = [];
    const logger = createLogger('info', 'knot', { write: (l: string) => void lines.push(l) });
    logger.info({ token: 'knot_secret1', req: { headers: { authorization: 'Bearer knot_secret2' } }, nomad: { token: 'knot_secret3' } }, 'hello');
    logger.debug('below the level');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(o).toMatchObject({ level: 30, name: 'knot', msg: 'hello', token: '[redacted]', nomad: { token: '[redacted]' } });
    expect(lines[0]).not.toContain('knot_secret');
  });
});
