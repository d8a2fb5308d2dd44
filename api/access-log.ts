/**
 * The two things every request passes through before its route, made cheap for the hot path
 * (bench/RESULTS.md §15): the access log line and helmet's security headers.
 *
 * - `accessLog`: one line per request, as pino-http wrote it (`req` {id, method, url,
 *   remoteAddress}, `res` {statusCode}, `responseTime`, "request completed" / "request errored" at
 *   info / warn / error by status) and the X-Request-Id header, without pino-http's two child
 *   loggers per request (never headers, never bodies: nothing here can log a secret).
 * - `securityHeaders`: helmet's headers are the same for every response (no nonce, no directive
 *   that reads the request), so they are taken from helmet once at start-up and set from that list.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';

export type RequestIdOf = (req: IncomingMessage) => string;

export function accessLog(logger: Logger, requestIdOf: RequestIdOf): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const id = requestIdOf(req);
    res.setHeader('X-Request-Id', id);
    (req as { id?: string }).id = id;
    const started = Date.now();
    let logged = false;
    // `close` alone for a client gone before the answer was sent; `finish` first otherwise
    const done = () => {
      if (logged) return;
      logged = true;
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const line: Record<string, unknown> = {
        req: { id, method: req.method, url: req.originalUrl || req.url, remoteAddress: req.socket.remoteAddress },
        res: { statusCode: status },
        responseTime: Date.now() - started,
      };
      if (status >= 500) {
        line.err = new Error(`failed with status code ${status}`);
        logger[level](line, 'request errored');
      } else {
        logger[level](line, 'request completed');
      }
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

/** helmet's headers (and the ones it removes) as its default configuration sets them on any response. */
export function helmetHeaders(): { set: [string, string][]; removed: string[] } {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const res = {
    setHeader(name: string, value: unknown) {
      set.push([name, String(value)]);
    },
    removeHeader(name: string) {
      removed.push(name);
    },
  } as unknown as ServerResponse;
  let called = false;
  helmet()({} as IncomingMessage, res, () => {
    called = true;
  });
  // helmet's middleware is synchronous with its defaults; if a later version were not, fall back to it
  if (!called) throw new Error('helmet did not answer synchronously');
  return { set, removed };
}

export function securityHeaders(): RequestHandler {
  let headers: ReturnType<typeof helmetHeaders>;
  try {
    headers = helmetHeaders();
  } catch {
    return helmet() as unknown as RequestHandler;
  }
  const { set, removed } = headers;
  return (_req: Request, res: Response, next: NextFunction) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}
