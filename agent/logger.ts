/**
 * The agent's logger: core's pino setup (same redaction of tokens), human-readable lines when a
 * person watches a terminal, JSON lines otherwise (the space's log collector).
 */
import pino, { type Logger, type LevelWithSilent } from 'pino';
import { REDACT_PATHS } from '../core/logger';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** One pino JSON line as `HH:MM:SS.mmm LEVEL message key=value ...`. */
export function formatLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const level = LEVEL_NAMES[o.level as number] ?? String(o.level);
  const extra = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => {
      if (k === 'err' && v && typeof v === 'object') return `err=${JSON.stringify((v as { message?: unknown }).message ?? v)}`;
      return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    });
  return `${time} ${level.padEnd(5)} ${String(o.msg ?? '')}${extra.length ? ` ${extra.join(' ')}` : ''}\n`;
}

export function createAgentLogger(level: LevelWithSilent = 'info', pretty = Boolean(process.stdout.isTTY)): Logger {
  const options = { name: 'knot-agent', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (!pretty) return pino(options);
  return pino(options, { write: (line: string) => process.stdout.write(formatLogLine(line)) });
}
