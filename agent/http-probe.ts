/**
 * Which listening ports speak HTTP, so the UI can offer them as web apps: a `HEAD /` on
 * 127.0.0.1 with a short timeout; any HTTP answer (even 404 or 500) counts. Each probe is a request
 * in the app's log, so a port is asked at most every PROBE_EVERY_MS, and once it has answered HTTP
 * it is not asked again until it stops listening (a server does not change protocol in place).
 */
import http from 'node:http';

export const PROBE_TIMEOUT_MS = 300;
export const PROBE_EVERY_MS = 5_000;

/** Whether something on 127.0.0.1:port answers an HTTP request within `timeoutMs`. */
export function answersHttp(port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(ok);
    };
    const req = http.request({ host: '127.0.0.1', port, method: 'HEAD', path: '/', agent: false, headers: { 'user-agent': 'knot-agent-probe' } }, (res) => {
      res.resume();
      done(true);
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    req.on('error', () => done(false));
    req.end();
  });
}

interface Known {
  http: boolean;
  at: number;
}

export class HttpPortProber {
  private readonly known = new Map<number, Known>();

  constructor(
    private readonly probe: (port: number) => Promise<boolean> = answersHttp,
    private readonly now: () => number = Date.now,
    private readonly everyMs = PROBE_EVERY_MS,
  ) {}

  /** Of `listening`, the ports that answer HTTP (probing those not known, or not lately). */
  async httpPorts(listening: number[]): Promise<number[]> {
    const live = new Set(listening);
    for (const port of this.known.keys()) if (!live.has(port)) this.known.delete(port);
    const now = this.now();
    await Promise.all(
      listening.map(async (port) => {
        const k = this.known.get(port);
        if (k && (k.http || now - k.at < this.everyMs)) return;
        this.known.set(port, { http: await this.probe(port), at: now });
      }),
    );
    return listening.filter((p) => this.known.get(p)?.http);
  }
}

/** code-server's health check answers within this long (its /healthz is a static JSON). */
export const HEALTH_TIMEOUT_MS = 500;

/** Whether `GET <path>` on 127.0.0.1:port answers 200 within `timeoutMs`. */
export function answersHealthz(port: number, path = '/healthz', timeoutMs = HEALTH_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(ok);
    };
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { 'user-agent': 'knot-agent-probe' } }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    req.on('error', () => done(false));
  });
}

/**
 * code-server counts as there once its `/healthz` answers 200 (something merely listening on
 * KNOT_CODE_SERVER_PORT may still be starting, or be something else). The answer is kept
 * PROBE_EVERY_MS, so a scan more often than that asks no more often.
 */
export class HealthProbe {
  private last: { port: number; ok: boolean; at: number } | null = null;

  constructor(
    private readonly probe: (port: number) => Promise<boolean> = answersHealthz,
    private readonly now: () => number = Date.now,
    private readonly everyMs = PROBE_EVERY_MS,
  ) {}

  async healthy(port: number): Promise<boolean> {
    const now = this.now();
    if (this.last && this.last.port === port && now - this.last.at < this.everyMs) return this.last.ok;
    const ok = await this.probe(port);
    this.last = { port, ok, at: now };
    return ok;
  }

  /** it stopped listening: the next time it listens is a new server, asked at once */
  forget(): void {
    this.last = null;
  }
}
