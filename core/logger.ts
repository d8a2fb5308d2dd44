/**
 * pino logger with secrets redacted by path, shared by every process. Tokens, passwords and
 * encrypted values must never reach a log line; the redact list is the single place that says so.
 * Redaction happens before a line is written, so it holds for JSON and for readable lines alike
 * (the readable destination is cli/log-output.ts: this file stays free of it, the agent bundles it).
 */
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import type { LogFormat } from './config';

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

/** `destination`: where lines go (default: JSON lines on stdout). */
export function createLogger(level: LevelWithSilent = 'info', name = 'knot', destination?: DestinationStream): Logger {
  const options = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * `log.format`: `auto` gives a person at a terminal readable lines and everything else (a pipe, a
 * file, Nomad's log collector) JSON lines, one object each.
 */
export function chooseLogFormat(configured: LogFormat, stdoutIsTty: boolean): 'pretty' | 'json' {
  if (configured === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  return configured;
}
