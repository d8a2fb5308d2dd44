import { promises as dns, type SrvRecord } from 'node:dns';
import { pickSrvTarget } from '../core/srv';
import { NomadError } from './errors';
import type {
  Allocation,
  AllocListStub,
  CsiVolume,
  CsiVolumeCreateResponse,
  CsiVolumeListStub,
  Evaluation,
  HostVolume,
  HostVolumeCreateResponse,
  HostVolumeStub,
  Job,
  JobDeregisterResponse,
  JobListStub,
  JobRegisterResponse,
  VolumeSpec,
} from './types';
import { csiVolumeRequestBody, hostVolumeRequestBody } from './volumes';
import { nomadRoute } from './routes';
import { fetchTransport, undiciTransport, type FetchFn, type HttpAnswer, type NomadTransport } from './transport';

export type { FetchFn } from './transport';
export type SrvResolver = (name: string) => Promise<SrvRecord[]>;

export interface NomadClientOptions {
  /** `http(s)://host:port`, or `srv+name` / `srv+https://name` to look the agent up with DNS SRV. */
  addr: string;
  token?: string;
  region?: string;
  namespace?: string;
  /** Per call; a call that takes longer fails with a retryable NomadUnavailable. Default 30 s. */
  timeoutMs?: number;
  /** Sends with this fetch instead of knot's own keep-alive pool (tests observe or fault calls with it). */
  fetch?: FetchFn;
  /** Connections per Nomad agent in each of the two pools (ordinary calls, blocking queries). Default 64. */
  maxConnections?: number;
  resolveSrv?: SrvResolver;
  /** Told about every call once it is answered or failed (status 0: no HTTP answer); for metrics. */
  onResponse?: (call: NomadCallRecord) => void;
}

export interface NomadCallRecord {
  method: string;
  /** the route pattern (`/v1/job/:id`), never a raw id */
  route: string;
  status: number;
  durationMs: number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Request extends CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
}

interface RawResponse {
  status: number;
  text: string;
  /** X-Nomad-Index of a read; 0 when absent */
  index: number;
}


/**
 * Typed client for the Nomad HTTP API, following docs/nomad-contract.md. Every failure is a
 * NomadError whose `retryable` says whether the same call may succeed later. Where the contract
 * makes "already gone" a success (deregistering an unknown job, deleting an unknown volume) the
 * methods treat it as done, so callers can be idempotent.
 */
export class NomadClient {
  private readonly opts: NomadClientOptions;
  private readonly transport: NomadTransport;
  private baseUrl: Promise<string> | undefined;
  private version: Promise<string | null> | undefined;

  constructor(opts: NomadClientOptions) {
    this.opts = opts;
    this.transport = opts.fetch ? fetchTransport(opts.fetch) : undiciTransport(opts.maxConnections);
  }

  /** Closes the client's connections once calls in flight are answered; later calls fail. */
  close(): Promise<void> {
    return this.transport.close();
  }

  get namespace(): string {
    return this.opts.namespace ?? 'default';
  }

  // ---- jobs ----

  parseJob(hcl: string, opts: { canonicalize?: boolean; variables?: string } & CallOptions = {}): Promise<Job> {
    return this.json<Job>('POST', '/v1/jobs/parse', {
      ...opts,
      body: { JobHCL: hcl, Canonicalize: opts.canonicalize ?? false, Variables: opts.variables ?? '' },
    });
  }

  registerJob(
    job: Job,
    opts: { enforceIndex?: boolean; jobModifyIndex?: number } & CallOptions = {},
  ): Promise<JobRegisterResponse> {
    const body: Record<string, unknown> = { Job: job };
    if (opts.enforceIndex) {
      body.EnforceIndex = true;
      body.JobModifyIndex = opts.jobModifyIndex ?? 0;
    }
    return this.json<JobRegisterResponse>('PUT', '/v1/jobs', { ...opts, body });
  }

  /** `null` when Nomad does not know the job (never registered, or purged). */
  readJob(id: string, opts: CallOptions = {}): Promise<Job | null> {
    return this.jsonOrNull<Job>('GET', `/v1/job/${encodeURIComponent(id)}`, opts);
  }

  /**
   * Unknown job → `[]` (Nomad answers 200 with an empty list). Once a purged job id is registered
   * again Nomad lists only the new incarnation's allocations; `all` lists the older ones too, which
   * is what a check for "anything of this job still running" needs.
   */
  jobAllocations(id: string, opts: { all?: boolean } & CallOptions = {}): Promise<AllocListStub[]> {
    return this.json<AllocListStub[]>('GET', `/v1/job/${encodeURIComponent(id)}/allocations`, { ...opts, query: { all: opts.all ? 'true' : undefined } });
  }

  /**
   * Blocking query: answers as soon as Nomad's state moves past `index` (or after `waitMs`), with
   * the allocations and the index to pass next time. `index` 0 answers at once.
   */
  async watchJobAllocations(id: string, index: number, waitMs: number, opts: CallOptions = {}): Promise<{ allocs: AllocListStub[]; index: number }> {
    const { value, index: next } = await this.blockingGet<AllocListStub[]>(`/v1/job/${encodeURIComponent(id)}/allocations`, index, waitMs, opts);
    return { allocs: value, index: next };
  }

  /** Newest first, so `[0]` is the evaluation of the latest register/deregister. */
  async jobEvaluations(id: string, opts: CallOptions = {}): Promise<Evaluation[]> {
    const evals = (await this.jsonOrNull<Evaluation[]>('GET', `/v1/job/${encodeURIComponent(id)}/evaluations`, opts)) ?? [];
    return evals.sort((a, b) => b.CreateIndex - a.CreateIndex);
  }

  /** A non-UUID id cannot name an evaluation: null without asking (Nomad answers it with a 500). */
  async readEvaluation(id: string, opts: CallOptions = {}): Promise<Evaluation | null> {
    if (!isUuid(id)) return null;
    return this.jsonOrNull<Evaluation>('GET', `/v1/evaluation/${encodeURIComponent(id)}`, opts);
  }

  /** A non-UUID id cannot name an allocation: null without asking (Nomad answers it with a 500). */
  async readAllocation(id: string, opts: CallOptions = {}): Promise<Allocation | null> {
    if (!isUuid(id)) return null;
    return this.jsonOrNull<Allocation>('GET', `/v1/allocation/${encodeURIComponent(id)}`, opts);
  }

  /** An unknown job counts as done (Nomad answers 200 with `EvalID: ""`). */
  deregisterJob(id: string, opts: { purge?: boolean } & CallOptions = {}): Promise<JobDeregisterResponse> {
    return this.json<JobDeregisterResponse>('DELETE', `/v1/job/${encodeURIComponent(id)}`, {
      ...opts,
      query: { purge: String(opts.purge ?? false) },
    });
  }

  /**
   * `meta: true` asks for each stub's `Meta` (Nomad 1.5+); an older Nomad leaves it out, and then
   * callers that need it must read each job.
   */
  async listJobs(opts: { prefix?: string; meta?: boolean } & CallOptions = {}): Promise<JobListStub[]> {
    const stubs = await this.json<JobListStub[]>('GET', '/v1/jobs', {
      ...opts,
      query: { prefix: opts.prefix, meta: opts.meta ? 'true' : undefined },
    });
    return stubs ?? [];
  }

  /** The agent's Nomad version (`1.6.5`), read once per client; null when the agent does not say. */
  agentVersion(opts: CallOptions = {}): Promise<string | null> {
    this.version ??= this.json<{ config?: { Version?: { Version?: string } }; member?: { Tags?: { build?: string } } }>('GET', '/v1/agent/self', opts).then(
      (self) => self.config?.Version?.Version ?? self.member?.Tags?.build?.split('+')[0] ?? null,
      (e: unknown) => {
        this.version = undefined;
        throw e;
      },
    );
    return this.version;
  }

  // ---- CSI volumes ----

  /** Creating an ID that exists updates it (Nomad's own behaviour). */
  async createCsiVolume(spec: VolumeSpec, opts: CallOptions = {}): Promise<CsiVolume> {
    const res = await this.json<CsiVolumeCreateResponse>('PUT', `/v1/volume/csi/${encodeURIComponent(spec.id)}/create`, {
      ...opts,
      body: csiVolumeRequestBody(spec, this.namespace),
    });
    const created = res.Volumes?.[0];
    if (created) return created;
    const read = await this.readCsiVolume(spec.id, opts);
    if (!read) throw new NomadError(`PUT /v1/volume/csi/${spec.id}/create`, 200, 'volume missing after create');
    return read;
  }

  /** Registers an existing storage volume without asking the plugin to create it. */
  async registerCsiVolume(spec: VolumeSpec & { externalId?: string }, opts: CallOptions = {}): Promise<void> {
    const body = csiVolumeRequestBody(spec, this.namespace);
    const volume = body.Volumes[0];
    if (volume && spec.externalId) volume.ExternalID = spec.externalId;
    await this.raw('PUT', `/v1/volume/csi/${encodeURIComponent(spec.id)}`, { ...opts, body });
  }

  readCsiVolume(id: string, opts: CallOptions = {}): Promise<CsiVolume | null> {
    return this.jsonOrNull<CsiVolume>('GET', `/v1/volume/csi/${encodeURIComponent(id)}`, opts);
  }

  /**
   * Blocking query on one CSI volume (null: unknown): answers as soon as Nomad's state moves past
   * `index` (Nomad watches the volume and its allocations and answers with the CSI volume table's
   * index, which a claim released or taken moves) or after `waitMs`, with the
   * index to pass next time. `index` 0 answers at once.
   */
  async watchCsiVolume(id: string, index: number, waitMs: number, opts: CallOptions = {}): Promise<{ volume: CsiVolume | null; index: number }> {
    try {
      const { value, index: next } = await this.blockingGet<CsiVolume>(`/v1/volume/csi/${encodeURIComponent(id)}`, index, waitMs, opts);
      return { volume: value, index: next };
    } catch (e) {
      if (e instanceof NomadError && e.nomadStatus === 404) return { volume: null, index };
      throw e;
    }
  }

  async listCsiVolumes(opts: { prefix?: string } & CallOptions = {}): Promise<CsiVolumeListStub[]> {
    const stubs = await this.json<CsiVolumeListStub[] | null>('GET', '/v1/volumes', {
      ...opts,
      query: { type: 'csi', prefix: opts.prefix },
    });
    return stubs ?? [];
  }

  /**
   * Plugin delete + deregister. An unknown volume counts as done; `volume in use` (claims not yet
   * released after a stop) is a retryable NomadVolumeInUse.
   */
  async deleteCsiVolume(id: string, opts: CallOptions = {}): Promise<void> {
    await this.ignoringGone(() => this.raw('DELETE', `/v1/volume/csi/${encodeURIComponent(id)}/delete`, opts));
  }

  /** Forgets the volume without deleting its storage. Unknown → done. */
  async deregisterCsiVolume(id: string, opts: { force?: boolean } & CallOptions = {}): Promise<void> {
    await this.ignoringGone(() =>
      this.raw('DELETE', `/v1/volume/csi/${encodeURIComponent(id)}`, {
        ...opts,
        query: { force: opts.force ? 'true' : undefined },
      }),
    );
  }

  // ---- host volumes (Nomad 1.10+) ----

  async createHostVolume(spec: VolumeSpec, opts: { existingId?: string } & CallOptions = {}): Promise<HostVolume> {
    const res = await this.json<HostVolumeCreateResponse>('PUT', '/v1/volume/host/create', {
      ...opts,
      body: hostVolumeRequestBody(spec, this.namespace, opts.existingId),
    });
    return res.Volume;
  }

  /**
   * Before 1.10 Nomad has no host volumes, and answers this list with 200 and an empty body: that
   * is "no host volumes", not an error.
   */
  async listHostVolumes(opts: { prefix?: string } & CallOptions = {}): Promise<HostVolumeStub[]> {
    const res = await this.raw('GET', '/v1/volumes', { ...opts, query: { type: 'host', prefix: opts.prefix } });
    if (res.text.trim() === '') return [];
    return this.parsed<HostVolumeStub[] | null>('GET /v1/volumes', res) ?? [];
  }

  readHostVolume(id: string, opts: CallOptions = {}): Promise<HostVolume | null> {
    return this.jsonOrNull<HostVolume>('GET', `/v1/volume/host/${encodeURIComponent(id)}`, opts);
  }

  /** Unknown → done; in use by allocations → retryable NomadVolumeInUse. */
  async deleteHostVolume(id: string, opts: { force?: boolean } & CallOptions = {}): Promise<void> {
    await this.ignoringGone(() =>
      this.raw('DELETE', `/v1/volume/host/${encodeURIComponent(id)}/delete`, {
        ...opts,
        query: { force: opts.force ? 'true' : undefined },
      }),
    );
  }

  // ---- transport ----

  private async ignoringGone(call: () => Promise<RawResponse>): Promise<void> {
    try {
      await call();
    } catch (e) {
      if (e instanceof NomadError && e.nomadStatus !== 0 && /volume not found|no such volume/i.test(e.nomadMessage)) return;
      throw e;
    }
  }

  private async jsonOrNull<T>(method: string, path: string, req: Request): Promise<T | null> {
    try {
      return await this.json<T>(method, path, req);
    } catch (e) {
      if (e instanceof NomadError && e.nomadStatus === 404) return null;
      throw e;
    }
  }

  private async json<T>(method: string, path: string, req: Request): Promise<T> {
    return this.parsed<T>(`${method} ${path}`, await this.raw(method, path, req));
  }

  /** A blocking GET (`?index=&wait=`): the answer and the index to pass next time. */
  private async blockingGet<T>(path: string, index: number, waitMs: number, opts: CallOptions): Promise<{ value: T; index: number }> {
    const res = await this.raw('GET', path, {
      ...opts,
      // Nomad adds up to wait/16 of jitter before answering
      timeoutMs: (opts.timeoutMs ?? this.opts.timeoutMs ?? 30_000) + waitMs + Math.ceil(waitMs / 16),
      query: { index: String(index), wait: `${Math.max(1, Math.round(waitMs))}ms` },
    });
    return { value: this.parsed<T>(`GET ${path}`, res), index: res.index };
  }

  private parsed<T>(endpoint: string, res: RawResponse): T {
    try {
      return JSON.parse(res.text) as T;
    } catch (e) {
      throw new NomadError(endpoint, res.status, `response is not JSON: ${res.text.slice(0, 200)}`, e);
    }
  }

  private async raw(method: string, path: string, req: Request): Promise<RawResponse> {
    const onResponse = this.opts.onResponse;
    if (!onResponse) return this.send(method, path, req);
    const started = performance.now();
    let status = 0;
    try {
      const res = await this.send(method, path, req);
      status = res.status;
      return res;
    } catch (e) {
      if (e instanceof NomadError) status = e.nomadStatus;
      throw e;
    } finally {
      try {
        onResponse({ method, route: nomadRoute(path), status, durationMs: performance.now() - started });
      } catch {
        // an observer's failure must not fail the call
      }
    }
  }

  private async send(method: string, path: string, req: Request): Promise<RawResponse> {
    const endpoint = `${method} ${path}`;
    let base: string;
    try {
      base = await this.resolveBaseUrl();
    } catch (e) {
      this.baseUrl = undefined;
      throw new NomadError(endpoint, 0, `cannot resolve ${this.opts.addr}: ${errorText(e)}`, e);
    }
    const url = new URL(path, base);
    const query: Record<string, string | undefined> = {
      namespace: this.opts.namespace,
      region: this.opts.region,
      ...req.query,
    };
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);

    const headers: Record<string, string> = {};
    if (this.opts.token) headers['X-Nomad-Token'] = this.opts.token;
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';

    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const callerSignal = req.signal;
    if (callerSignal?.aborted) throw callerSignal.reason;
    // One controller and a plain timer rather than AbortSignal.timeout + AbortSignal.any: those
    // cost a measurable share of CPU per call. The reasons are the ones they would give.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), timeoutMs);
    // like AbortSignal.timeout's: a call in flight does not on its own keep the process up
    timer.unref();
    const onCallerAbort = (): void => abort.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

    let answer: HttpAnswer;
    try {
      answer = await this.transport.send({ method, url, headers, body, signal: abort.signal, blocking: req.query?.index !== undefined });
    } catch (e) {
      if (callerSignal?.aborted) throw e;
      // The agent may have moved (SRV): look it up again next time.
      this.baseUrl = undefined;
      const timedOut = abort.signal.aborted;
      const message = timedOut ? `timed out after ${timeoutMs} ms` : errorText(e);
      throw new NomadError(endpoint, 0, message, e);
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
    const { status, text } = answer;
    if (status < 200 || status >= 300) {
      // Nomad before 1.10 has no host-volume routes: a bare 404 there would read as "not found"
      const message = text.trim() || (status === 404 && path.startsWith('/v1/volume/host') ? HOST_VOLUMES_ABSENT : '');
      throw new NomadError(endpoint, status, message);
    }
    return { status, text, index: Number(answer.index ?? 0) || 0 };
  }

  private resolveBaseUrl(): Promise<string> {
    this.baseUrl ??= this.lookUpBaseUrl();
    return this.baseUrl;
  }

  private async lookUpBaseUrl(): Promise<string> {
    const addr = this.opts.addr;
    if (!addr.startsWith('srv+')) return addr.endsWith('/') ? addr : `${addr}/`;
    const rest = addr.slice('srv+'.length);
    const match = /^(https?):\/\/(.+)$/.exec(rest);
    const scheme = match?.[1] ?? 'http';
    const name = (match?.[2] ?? rest).replace(/\/+$/, '');
    const resolve = this.opts.resolveSrv ?? ((n: string) => dns.resolveSrv(n));
    const record = pickSrvTarget(await resolve(name));
    if (!record) throw new Error(`no SRV records for ${name}`);
    return `${scheme}://${record.name}:${record.port}/`;
  }
}

const HOST_VOLUMES_ABSENT = 'this Nomad has no host-volume API (host volumes need Nomad 1.10 or later)';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function isUuid(id: string): boolean {
  return UUID.test(id);
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.message}${cause}`;
  }
  return String(e);
}
