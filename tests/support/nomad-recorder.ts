/**
 * An HTTP proxy in front of a Nomad API (the sandbox) that records every call the workers make:
 * method, path, status and, for job registrations, the job id and the knot space it belongs to
 * (the job's `knot_space` meta). For tests whose workers are separate processes, where the
 * client-side call log of tests/resilience/support.ts (`loggedNomad`) cannot reach.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KNOT_SPACE_META } from '../../nomad/meta';

export interface RecordedCall {
  at: number;
  /** when the answer came (ms) */
  doneAt: number | null;
  method: string;
  path: string;
  status: number | 'error';
  /** registrations: the job's id and its space */
  jobId?: string;
  spaceId?: string;
}

export interface NomadRecorder {
  url: string;
  calls: RecordedCall[];
  /** successful job registrations (PUT or POST /v1/jobs, POST /v1/job/:id) */
  registrations(): RecordedCall[];
  close(): Promise<void>;
}

const REGISTER = /^\/v1\/(jobs|job\/[^/]+)$/;
const isRegister = (method: string, path: string) => (method === 'PUT' || method === 'POST') && REGISTER.test(path);

export async function startNomadRecorder(target: string): Promise<NomadRecorder> {
  const to = new URL(target);
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const pathOnly = (req.url ?? '/').split('?')[0]!;
    const entry: RecordedCall = { at: Date.now(), doneAt: null, method: req.method ?? 'GET', path: pathOnly, status: 'error' };
    calls.push(entry);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (isRegister(entry.method, pathOnly)) {
        try {
          const job = (JSON.parse(body.toString('utf8')) as { Job?: { ID?: string; Meta?: Record<string, string> } }).Job;
          if (job?.ID) entry.jobId = job.ID;
          const space = job?.Meta?.[KNOT_SPACE_META];
          if (space) entry.spaceId = space;
        } catch {
          // not a registration body (e.g. a plan): recorded without a job
        }
      }
      const up = http.request(
        { host: to.hostname, port: Number(to.port), method: req.method, path: req.url, headers: { ...req.headers, host: to.host, 'content-length': String(body.length) } },
        (upRes) => {
          entry.status = upRes.statusCode ?? 'error';
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', () => (entry.doneAt = Date.now()));
        },
      );
      up.on('error', () => {
        entry.doneAt = Date.now();
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      // the worker gave up on the call (its timeout): so does the sandbox
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    registrations: () => calls.filter((c) => isRegister(c.method, c.path) && c.jobId && c.status === 200),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
