/**
 * pino JSON logger with secrets redacted by path, shared by every process. Tokens, passwords and
 * encrypted values must never reach a log line; the redact list is the single place that says so.
 */
import pino, { type Logger, type LevelWithSilent } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-nomad-token"]',
  'req.headers["x-knot-agent-token"]',
  'req.headers.cookie',
  'headers.authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  '*.secrets',
  'encrypt',
  '*.encrypt',
  'bootstrap_token',
  '*.bootstrap_token',
  'value_encrypted',
  '*.value_encrypted',
];

export type { Logger };

export function createLogger(level: LevelWithSilent = 'info', name = 'knot'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
