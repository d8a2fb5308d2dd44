/**
 * The sandbox's HTTP face: Nomad's routes, status codes and text/plain errors (CONTRACT.md), plus
 * fault injection and the sandbox-only admin routes under /v1/sandbox/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import semver from 'semver';
import type { Job } from '../types';
import { canonicalizeKeys } from './body';
import { ApiError, canonicalizeJob, SandboxCluster, type CsiPluginConfig } from './cluster';
import { FaultInjector, type Faults } from './faults';
import { durationNs, JobspecError, parseJobspec } from './jobspec';

export interface SandboxOptions {
  host?: string;
  /** 0 = ephemeral. Default 4646. */
  port?: number;
  /** When set, every /v1 call must carry it (X-Nomad-Token or Authorization: Bearer). */
  aclToken?: string;
  allocRunningDelayMs?: number;
  healthyDelayMs?: number;
  claimReleaseDelayMs?: number;
  stopDelayMs?: number;
  /** From an evaluation's creation to the scheduler's verdict (ClusterOptions.evalDelayMs). Default 0. */
  evalDelayMs?: number;
  plugins?: CsiPluginConfig[];
  hostVolumePlugins?: string[];
  /**
   * The Nomad version to emulate. Host volumes exist from 1.10: before that `GET
   * /v1/volumes?type=host` answers 200 with an empty body and the other host-volume routes 404
   * with an empty body, as Nomad 1.6.5 does. Default `1.10.0`.
   */
  nomadVersion?: string;
  /** Task drivers the sandbox node has. Default docker, exec, raw_exec. */
  drivers?: string[];
  /** Namespaces that exist. Default `default`. */
  namespaces?: string[];
  faults?: Faults;
  logger?: Logger;
}

export const DEFAULT_NOMAD_VERSION = '1.10.0';
export const DEFAULT_DRIVERS: readonly string[] = ['docker', 'exec', 'raw_exec'];

export type SandboxState = ReturnType<SandboxCluster['snapshot']>;

export interface Sandbox {
  url: string;
  port: number;
  /** A read-only snapshot of everything the sandbox holds. */
  state(): SandboxState;
  reset(): void;
  setFaults(faults: Faults): void;
  /** Whether a CSI volume is registered and whether its storage was destroyed (a plugin delete ran). */
  csiVolumeData(id: string, namespace?: string): { ID: string; Namespace: string; Registered: boolean; DataDestroyed: boolean };
  close(): Promise<void>;
}

type Query = URLSearchParams;
interface Ctx {
  params: string[];
  query: Query;
  namespace: string;
  body: () => Promise<Record<string, unknown>>;
}
/** `empty`: no body and no Content-Type at all (how Nomad answers routes it does not have). */
type Reply = { status?: number; json?: unknown; text?: string; read?: boolean; empty?: boolean };
type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
  /** GET handlers that honour `?index=&wait=` blocking queries. */
  blocking?: boolean;
  /**
   * A blocking GET's own watch and the table index it answers with, where Nomad's is narrower than
   * "anything in the cluster changed" (the default, with the cluster's index).
   */
  watch?: (ctx: Ctx) => { index(): number; wait(afterIndex: number, ms: number): Promise<void> };
}

const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_BODY = 10 * 1024 * 1024;
/** What Go's time.ParseDuration accepts: every number needs a unit. */
const GO_DURATION = /^[+-]?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ApiError(413, 'Request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const faults = new FaultInjector(opts.faults);
  const cluster = new SandboxCluster({
    allocRunningDelayMs: opts.allocRunningDelayMs ?? 300,
    healthyDelayMs: opts.healthyDelayMs ?? 200,
    claimReleaseDelayMs: opts.claimReleaseDelayMs ?? 500,
    stopDelayMs: opts.stopDelayMs ?? 50,
    evalDelayMs: opts.evalDelayMs ?? 0,
    plugins: opts.plugins ?? [
      { id: 'hostpath', supportsCreate: true },
      { id: 'readonly-plugin', supportsCreate: false },
    ],
    hostVolumePlugins: opts.hostVolumePlugins ?? ['mkdir'],
    drivers: opts.drivers ?? [...DEFAULT_DRIVERS],
    namespaces: opts.namespaces ?? ['default'],
    faults,
  });
  const nomadVersion = semver.coerce(opts.nomadVersion ?? DEFAULT_NOMAD_VERSION);
  if (!nomadVersion) throw new Error(`not a Nomad version: ${opts.nomadVersion}`);
  const delays = new Set<NodeJS.Timeout>();
  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            delays.delete(t);
            resolve();
          }, ms);
          delays.add(t);
        });

  const routes = buildRoutes(cluster, faults, { hostVolumes: semver.gte(nomadVersion, '1.10.0'), version: nomadVersion.version });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const admin = path.startsWith('/v1/sandbox/');

    if (!admin) {
      const decision = faults.decide(method, path);
      await sleep(decision.latencyMs);
      if (decision.kind === 'hang') {
        logger.debug({ method, path }, 'fault: hanging request');
        return;
      }
      if (decision.kind === 'error') return sendText(res, decision.status, decision.message);
    }

    if (opts.aclToken) {
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const token = (req.headers['x-nomad-token'] as string | undefined) ?? bearer;
      if (!token) return sendText(res, 403, 'Permission denied');
      if (token !== opts.aclToken) return sendText(res, 403, 'ACL token not found');
    }

    const route = routes.find((r) => r.pattern.test(path));
    if (!route) return sendText(res, 404, '');
    const handler = route.methods[method];
    if (!handler) return sendText(res, 405, 'Invalid method');
    const params = (route.pattern.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p ?? ''));

    const waitText = url.searchParams.get('wait');
    const indexText = url.searchParams.get('index');
    // Nomad parses these on every query (http.go parseWait/parseIndex) and refuses bad ones.
    if (route.blocking && method === 'GET' && waitText !== null && (waitText === '' || (waitText !== '0' && !GO_DURATION.test(waitText)))) {
      return sendText(res, 400, 'Invalid wait time');
    }
    if (route.blocking && method === 'GET' && indexText !== null && indexText !== '' && !/^\d+$/.test(indexText)) return sendText(res, 400, 'Invalid index');
    const minIndex = Number(indexText || 0);
    let bodyCache: Promise<Record<string, unknown>> | undefined;
    const ctx: Ctx = {
      params,
      query: url.searchParams,
      namespace: url.searchParams.get('namespace') || 'default',
      body: () => {
        bodyCache ??= readBody(req).then((text) => {
          if (!text.trim()) throw new ApiError(400, 'Request body is empty');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch (e) {
            throw new ApiError(400, `Failed to decode request: ${(e as Error).message}`);
          }
          return asRecord(canonicalizeKeys(parsed)) ?? {};
        });
        return bodyCache;
      },
    };
    const watch = route.blocking && method === 'GET' ? route.watch?.(ctx) : undefined;
    if (route.blocking && method === 'GET' && minIndex > 0) {
      const waitMs = waitText ? Math.min((durationNs(waitText === '0' ? '0s' : waitText) ?? 0) / 1e6, MAX_WAIT_MS) : DEFAULT_WAIT_MS;
      await (watch ? watch.wait(minIndex, waitMs) : cluster.waitForChange(minIndex, waitMs));
    }
    const reply = await handler(ctx);
    if (reply.read !== false && method === 'GET') {
      res.setHeader('X-Nomad-Index', String(watch ? watch.index() : cluster.index));
      res.setHeader('X-Nomad-LastContact', '0');
      res.setHeader('X-Nomad-KnownLeader', 'true');
    }
    if (reply.text !== undefined) return sendText(res, reply.status ?? 200, reply.text);
    if (reply.empty) {
      res.writeHead(reply.status ?? 200);
      return void res.end();
    }
    res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json' });
    res.end(reply.json === undefined ? '' : JSON.stringify(reply.json));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof ApiError) return sendText(res, e.status, e.message);
      logger.warn({ err: e }, 'sandbox handler failed');
      sendText(res, 500, e instanceof Error ? e.message : String(e));
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 4646, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, `Nomad sandbox (simulated: no workloads run) listening on ${url}`);

  return {
    url,
    port,
    state: () => cluster.snapshot(),
    reset: () => cluster.reset(),
    setFaults: (f) => faults.set(f),
    csiVolumeData: (id, namespace = 'default') => cluster.csiVolumeData(namespace, id),
    close: async () => {
      cluster.stop();
      for (const t of delays) clearTimeout(t);
      delays.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

const truthy = (v: string | null): boolean => v === 'true' || v === '1';

function buildRoutes(cluster: SandboxCluster, faults: FaultInjector, features: { hostVolumes: boolean; version: string }): Route[] {
  // Before Nomad 1.10 there are no host-volume routes; the /v1/volumes list ignores the type.
  const noHostVolumes: Handler = () => ({ status: 404, empty: true, read: false });
  const parse: Handler = async (ctx) => {
    const body = await ctx.body();
    const hcl = typeof body.JobHCL === 'string' ? body.JobHCL : '';
    if (!hcl.trim()) throw new ApiError(400, 'Job spec is empty');
    try {
      const job = await parseJobspec(hcl, typeof body.Variables === 'string' ? body.Variables : '');
      return { json: body.Canonicalize === true ? canonicalizeJob(job, ctx.namespace) : job, read: false };
    } catch (e) {
      if (e instanceof JobspecError) throw new ApiError(400, `Failed to parse job: ${e.message}`);
      throw e;
    }
  };

  const register = (pathId?: string): Handler => async (ctx) => {
    const body = await ctx.body();
    const job = asRecord(body.Job) as Job | undefined;
    if (!job) throw new ApiError(400, 'Job must be specified');
    if (!job.ID) throw new ApiError(400, "Job ID hasn't been provided");
    if (pathId !== undefined && job.ID !== pathId) throw new ApiError(400, 'Job ID does not match name');
    const result = cluster.register(job, ctx.query.get('namespace') || job.Namespace || 'default', {
      enforceIndex: body.EnforceIndex === true,
      jobModifyIndex: Number(body.JobModifyIndex ?? 0),
    });
    return { json: result };
  };

  const upsertCsi = (create: boolean): Handler => async (ctx) => {
    const body = await ctx.body();
    const volumes = Array.isArray(body.Volumes) ? body.Volumes.map((v) => asRecord(v) ?? {}) : [];
    const created = cluster.upsertCsiVolumes(volumes, ctx.namespace, create);
    if (!create) return { json: { Volumes: created, Warnings: '', Index: cluster.index } };
    // Nomad answers a create with the volume as the plugin returned it, before any claim
    // bookkeeping: no claim maps, not yet schedulable, mount flags redacted, and no Warnings key.
    const answered = created.map((v) => ({
      ...v,
      ReadAllocs: null,
      WriteAllocs: null,
      Schedulable: false,
      MountOptions: v.MountOptions ? { ...v.MountOptions, MountFlags: v.MountOptions.MountFlags?.length ? ['[REDACTED]'] : v.MountOptions.MountFlags } : v.MountOptions,
    }));
    return { json: { Volumes: answered, Index: cluster.index } };
  };

  return [
    // the part of the agent's self-description clients read: the version it runs
    { pattern: /^\/v1\/agent\/self$/, methods: { GET: () => ({ json: { config: { Version: { Version: features.version, VersionPrerelease: '' } }, member: { Tags: { build: features.version } } }, read: false }) } },
    { pattern: /^\/v1\/jobs\/parse$/, methods: { PUT: parse, POST: parse } },
    {
      pattern: /^\/v1\/jobs$/,
      blocking: true,
      methods: {
        GET: (ctx) => ({ json: cluster.listJobs(ctx.namespace, ctx.query.get('prefix') ?? '', truthy(ctx.query.get('meta'))) }),
        PUT: register(),
        POST: register(),
      },
    },
    {
      pattern: /^\/v1\/job\/([^/]+)\/allocations$/,
      blocking: true,
      watch: (ctx) => ({
        index: () => cluster.allocsIndex,
        wait: (afterIndex, ms) => cluster.waitForJobAllocations(ctx.namespace, ctx.params[0] ?? '', afterIndex, ms),
      }),
      methods: { GET: (ctx) => ({ json: cluster.jobAllocationStubs(ctx.namespace, ctx.params[0] ?? '', truthy(ctx.query.get('all'))) }) },
    },
    { pattern: /^\/v1\/job\/([^/]+)\/evaluations$/, blocking: true, methods: { GET: (ctx) => ({ json: cluster.jobEvaluations(ctx.namespace, ctx.params[0] ?? '') }) } },
    {
      pattern: /^\/v1\/job\/([^/]+)$/,
      blocking: true,
      methods: {
        GET: (ctx) => ({ json: cluster.readJob(ctx.namespace, ctx.params[0] ?? '') }),
        PUT: (ctx) => register(ctx.params[0])(ctx),
        POST: (ctx) => register(ctx.params[0])(ctx),
        DELETE: (ctx) => ({ json: cluster.deregister(ctx.namespace, ctx.params[0] ?? '', truthy(ctx.query.get('purge'))) }),
      },
    },
    { pattern: /^\/v1\/evaluation\/([^/]+)$/, blocking: true, methods: { GET: (ctx) => ({ json: cluster.readEvaluation(ctx.params[0] ?? '') }) } },
    { pattern: /^\/v1\/allocation\/([^/]+)$/, blocking: true, methods: { GET: (ctx) => ({ json: cluster.readAllocation(ctx.params[0] ?? '') }) } },
    {
      pattern: /^\/v1\/volumes$/,
      blocking: true,
      methods: {
        GET: (ctx) => {
          const prefix = ctx.query.get('prefix') ?? '';
          const type = ctx.query.get('type');
          if (type === 'csi') return { json: cluster.listCsiVolumes(ctx.namespace, prefix) };
          if (type === 'host') return features.hostVolumes ? { json: cluster.listHostVolumes(ctx.namespace, prefix) } : { empty: true };
          return { json: [] };
        },
      },
    },
    { pattern: /^\/v1\/volume\/csi\/([^/]+)\/create$/, methods: { PUT: upsertCsi(true) } },
    {
      pattern: /^\/v1\/volume\/csi\/([^/]+)\/delete$/,
      methods: {
        DELETE: (ctx) => {
          cluster.removeCsiVolume(ctx.namespace, ctx.params[0] ?? '', { force: false, pluginDelete: true });
          return { text: '' };
        },
      },
    },
    ...(features.hostVolumes
      ? [
          { pattern: /^\/v1\/volume\/host\/create$/, methods: { PUT: hostCreate(cluster), POST: hostCreate(cluster) } },
          {
            pattern: /^\/v1\/volume\/host\/([^/]+)\/delete$/,
            methods: { DELETE: (ctx: Ctx) => ({ json: { Index: cluster.deleteHostVolume(ctx.params[0] ?? '', truthy(ctx.query.get('force'))) } }) },
          },
          { pattern: /^\/v1\/volume\/host\/([^/]+)$/, blocking: true, methods: { GET: (ctx: Ctx) => ({ json: cluster.readHostVolume(ctx.params[0] ?? '') }) } },
        ]
      : [{ pattern: /^\/v1\/volume\/host(\/.*)?$/, methods: { GET: noHostVolumes, PUT: noHostVolumes, POST: noHostVolumes, DELETE: noHostVolumes } }]),
    {
      pattern: /^\/v1\/volume\/csi\/([^/]+)$/,
      blocking: true,
      methods: {
        GET: (ctx) => ({ json: cluster.readCsiVolume(ctx.namespace, ctx.params[0] ?? '') }),
        PUT: upsertCsi(false),
        DELETE: (ctx) => {
          cluster.removeCsiVolume(ctx.namespace, ctx.params[0] ?? '', { force: truthy(ctx.query.get('force')), pluginDelete: false });
          return { text: '' };
        },
      },
    },
    { pattern: /^\/v1\/sandbox\/state$/, methods: { GET: () => ({ json: cluster.snapshot(), read: false }) } },
    { pattern: /^\/v1\/sandbox\/volumes\/([^/]+)$/, methods: { GET: (ctx) => ({ json: cluster.csiVolumeData(ctx.namespace, ctx.params[0] ?? ''), read: false }) } },
    {
      pattern: /^\/v1\/sandbox\/reset$/,
      methods: {
        POST: () => {
          cluster.reset();
          return { json: { Index: cluster.index } };
        },
      },
    },
    {
      pattern: /^\/v1\/sandbox\/faults$/,
      methods: {
        GET: () => ({ json: faults.get(), read: false }),
        PUT: async (ctx) => {
          const f = await ctx.body();
          faults.set({
            latencyMs: typeof f.LatencyMs === 'number' ? f.LatencyMs : undefined,
            seed: typeof f.Seed === 'number' ? f.Seed : undefined,
            failAllocations: typeof f.FailAllocations === 'string' ? f.FailAllocations : undefined,
            pendingAllocations: typeof f.PendingAllocations === 'string' ? f.PendingAllocations : undefined,
            rules: (Array.isArray(f.Rules) ? f.Rules : []).map((r) => {
              const rule = asRecord(r) ?? {};
              return {
                method: typeof rule.Method === 'string' ? rule.Method : undefined,
                path: String(rule.Path ?? '.*'),
                latencyMs: typeof rule.LatencyMs === 'number' ? rule.LatencyMs : undefined,
                errorRate: typeof rule.ErrorRate === 'number' ? rule.ErrorRate : undefined,
                errorStatus: typeof rule.ErrorStatus === 'number' ? rule.ErrorStatus : undefined,
                errorMessage: typeof rule.ErrorMessage === 'string' ? rule.ErrorMessage : undefined,
                hang: rule.Hang === true,
              };
            }),
          });
          return { json: faults.get() };
        },
      },
    },
  ];
}

function hostCreate(cluster: SandboxCluster): Handler {
  return async (ctx) => {
    const body = await ctx.body();
    const volume = asRecord(body.Volume);
    if (!volume) throw new ApiError(400, 'missing volume definition');
    return { json: { Volume: cluster.upsertHostVolume(volume, ctx.namespace), Warnings: '', Index: cluster.index } };
  };
}
