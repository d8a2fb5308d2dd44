/**
 * Where `knot dev|server|worker` write their log: JSON lines (one object each, for pipes, files and
 * Nomad's log collector) or, for a person at a terminal, one readable line per entry through
 * pino-pretty: `[12:03:04] INFO: [worker] worker polling taskQueue=knot`. Which one is
 * core/logger.ts chooseLogFormat's decision; redaction happened before a line gets here.
 */
import { prettyFactory } from 'pino-pretty';
import type { DestinationStream, Logger } from 'pino';
import type { KnotConfig } from '../core/config';
import { chooseLogFormat, createLogger } from '../core/logger';

/** pino's own keys, and the ones pino-http's request line says in words */
const NOT_SHOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'part', 'sdkComponent', 'req', 'res', 'responseTime', 'err']);

interface Colors {
  gray(s: string): string;
  red(s: string): string;
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * The readable body of one entry (pino-pretty adds the time and the level): the process part that
 * logged it, the message (pino-http's request lines as `GET /path 200 12 ms`), the remaining
 * fields as key=value, an error's message and, for error and fatal, its stack.
 */
export function readableMessage(log: Record<string, unknown>, colors: Colors = { gray: (s) => s, red: (s) => s }): string {
  const part = typeof log.part === 'string' ? `[${log.part}] ` : '';
  const req = log.req as { method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  const msg =
    req?.method && req.url && res?.statusCode !== undefined
      ? `${req.method} ${req.url} ${res.statusCode}${typeof log.responseTime === 'number' ? ` ${log.responseTime} ms` : ''}`
      : String(log.msg ?? '');
  const fields = Object.entries(log)
    .filter(([k, v]) => !NOT_SHOWN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${valueText(v)}`);
  const err = log.err as { message?: unknown; stack?: unknown } | undefined;
  let text = `${part}${msg}${fields.length ? ` ${colors.gray(fields.join(' '))}` : ''}`;
  if (err && typeof err === 'object') {
    text += ` ${colors.red(`err=${valueText(err.message ?? err)}`)}`;
    if (typeof log.level === 'number' && log.level >= 50 && typeof err.stack === 'string') {
      text += `\n${err.stack.split('\n').slice(1).join('\n')}`;
    }
  }
  return text;
}

/**
 * pino-pretty as a synchronous destination: nothing is lost when the process exits right after a
 * line. Colours by default when stdout supports them (never with NO_COLOR).
 */
export function readableDestination(write: (text: string) => void = (t) => process.stdout.write(t), colorize?: boolean): DestinationStream {
  const prettify = prettyFactory({
    ...(colorize === undefined ? {} : { colorize }),
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name',
    hideObject: true,
    messageFormat: (log, _key, _level, { colors }) => readableMessage(log, colors),
  });
  return { write: (line: string) => write(prettify(line)) };
}

/** The process logger `log.level` and `log.format` (with stdout's TTY-ness) ask for. */
export function loggerFor(cfg: KnotConfig, name = 'knot', stdoutIsTty = Boolean(process.stdout.isTTY)): Logger {
  const format = chooseLogFormat(cfg.log.format, stdoutIsTty);
  return createLogger(cfg.log.level, name, format === 'pretty' ? readableDestination() : undefined);
}
