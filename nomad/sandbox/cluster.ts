/**
 * The sandbox's simulated cluster: one node, a scheduler that only checks volume feasibility,
 * and timers that move allocations through pending → running → healthy. Nothing runs.
 *
 * Placement failures look the way they do on a real Nomad: the register eval completes with
 * `FailedTGAllocs` (reasons under `ConstraintFiltered`, e.g. `missing CSI Volume <id>`), a second
 * eval with Status `blocked` waits for capacity, the job stays `pending` with no allocations.
 * Unlike Nomad (which unblocks on node/capacity events), the sandbox retries blocked evals whenever
 * a volume is created or a claim is released.
 */
import { randomUUID } from 'node:crypto';
import type {
  Allocation,
  AllocationMetric,
  AllocListStub,
  CsiVolume,
  CsiVolumeCapability,
  CsiVolumeListStub,
  Evaluation,
  HostVolume,
  HostVolumeStub,
  Job,
  JobListStub,
  JobStatus,
  TaskGroup,
  TaskState,
  UpdateStrategy,
} from '../types';

/** The sandbox always keeps claim maps (real Nomad may answer them as null). */
type StoredCsiVolume = CsiVolume & { ReadAllocs: Record<string, null>; WriteAllocs: Record<string, null>; Allocations: CsiVolume['Allocations'] };
import type { FaultInjector } from './faults';
import { registerValidationError } from './validate';

/** An error the HTTP layer answers with `status` and the bare `message` as text/plain. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CsiPluginConfig {
  id: string;
  supportsCreate: boolean;
}

export interface ClusterOptions {
  allocRunningDelayMs: number;
  healthyDelayMs: number;
  claimReleaseDelayMs: number;
  /** From deregister to allocations `complete`. */
  stopDelayMs: number;
  /**
   * From an evaluation's creation to the scheduler's verdict on it. 0 (the default) decides within
   * the register call; Nomad's scheduler works through evaluations asynchronously, milliseconds to
   * seconds later, which a positive value models.
   */
  evalDelayMs?: number;
  plugins: CsiPluginConfig[];
  hostVolumePlugins: string[];
  /** Task drivers the node has; a task needing another one cannot be placed (`missing drivers`). */
  drivers: string[];
  /** Namespaces that exist; registering into another is refused like Nomad does. */
  namespaces: string[];
  faults: FaultInjector;
}

/** Drivers whose tasks cannot mount a CSI volume (Nomad: MountConfigSupportNone). */
const NO_CSI_MOUNTS = new Set(['raw_exec']);

export const NODE_ID = '5b0f3d1e-0000-4000-8000-000000000001';
const NODE_NAME = 'sandbox-node-1';
const DEFAULT_CAPACITY = 1024 ** 3;

const TERMINAL = new Set(['complete', 'failed', 'lost']);

type Claim = { kind: 'csi'; key: string; mode: 'read' | 'write' } | { kind: 'host'; id: string };

interface JobRecord {
  job: Job;
  /** The submitted spec without bookkeeping fields, to tell a changed job from a re-register. */
  spec: string;
}

const key = (namespace: string, id: string): string => `${namespace}\u0000${id}`;
/** The watch of a job with no allocation: any allocation change (no valid key has this form). */
const ANY_ALLOC = '\u0000*';
const nowNs = (): number => Date.now() * 1e6;
const iso = (): string => new Date().toISOString();

/** A service group's update block when the jobspec sets none (structs.DefaultUpdateStrategy). */
const DEFAULT_UPDATE: UpdateStrategy = {
  Stagger: 30e9,
  MaxParallel: 1,
  HealthCheck: 'checks',
  MinHealthyTime: 10e9,
  HealthyDeadline: 300e9,
  ProgressDeadline: 600e9,
  Canary: 0,
  AutoRevert: false,
  AutoPromote: false,
};

const BOOKKEEPING = ['Status', 'StatusDescription', 'Version', 'SubmitTime', 'CreateIndex', 'ModifyIndex', 'JobModifyIndex', 'Stable'];

function specOf(job: Job): string {
  const copy: Record<string, unknown> = { ...job };
  for (const k of BOOKKEEPING) delete copy[k];
  return JSON.stringify(copy);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function emptyMetric(): AllocationMetric {
  return {
    NodesEvaluated: 1,
    NodesFiltered: 1,
    NodesInPool: 1,
    NodesAvailable: { dc1: 1 },
    ClassFiltered: null,
    ConstraintFiltered: {},
    NodesExhausted: 0,
    ClassExhausted: null,
    DimensionExhausted: null,
    QuotaExhausted: null,
    CoalescedFailures: 0,
    AllocationTime: 12000,
  };
}

/**
 * A full allocation as Nomad 1.6 answers it: JobType and JobVersion exist only on list stubs, empty
 * strings and a null DeploymentStatus are left out, and shared ports/networks are null when none.
 */
function allocView(alloc: Allocation): Allocation {
  const view = clone(alloc) as Partial<Allocation> & Record<string, unknown>;
  delete view.JobType;
  delete view.JobVersion;
  for (const k of ['DesiredDescription', 'FollowupEvalID', 'DeploymentID'] as const) if (!view[k]) delete view[k];
  if (!view.DeploymentStatus) delete view.DeploymentStatus;
  const shared = (view.AllocatedResources as { Shared?: { Ports?: unknown[] | null; Networks?: unknown[] | null } } | undefined)?.Shared;
  if (shared) {
    if (!shared.Ports?.length) shared.Ports = null;
    if (!shared.Networks?.length) shared.Networks = null;
  }
  return view as Allocation;
}

/** Nomad leaves empty fields out of evaluations (omitempty). */
function evalView(ev: Evaluation): Evaluation {
  const view = clone(ev) as Partial<Evaluation>;
  for (const k of ['StatusDescription', 'BlockedEval', 'PreviousEval'] as const) if (!view[k]) delete view[k];
  if (!view.FailedTGAllocs) delete view.FailedTGAllocs;
  return view as Evaluation;
}

function wantsWrite(readOnly: boolean, accessMode: string): boolean {
  return !readOnly && !accessMode.includes('reader-only');
}

/** The defaults Nomad fills in on register (and on parse with Canonicalize=true), as far as knot cares. */
export function canonicalizeJob(input: Job, namespace: string): Job {
  const job = clone(input);
  job.Namespace = job.Namespace || namespace;
  job.Name = job.Name || job.ID;
  job.Region = job.Region || 'global';
  job.Type = job.Type || 'service';
  job.Priority = job.Priority ?? 50;
  job.Datacenters = job.Datacenters?.length ? job.Datacenters : ['*'];
  job.NodePool = job.NodePool || 'default';
  job.Stop = job.Stop ?? false;
  const jobUpdate = job.Update ?? null;
  const service = job.Type === 'service';
  // Like Nomad, every job gets a job-level block holding only the legacy fields (Stagger,
  // MaxParallel) — zero-valued for non-service jobs — while service groups get the full strategy.
  job.Update = {
    ...ZERO_UPDATE,
    Stagger: jobUpdate?.Stagger ?? (service ? DEFAULT_UPDATE.Stagger : 0),
    MaxParallel: jobUpdate?.MaxParallel ?? (service ? DEFAULT_UPDATE.MaxParallel : 0),
  };
  job.TaskGroups = (job.TaskGroups ?? []).map((tg) => ({
    ...tg,
    Count: tg.Count ?? 1,
    Tasks: tg.Tasks ?? [],
    Update: service ? mergeUpdate(mergeUpdate({ ...DEFAULT_UPDATE }, jobUpdate), tg.Update ?? null) : null,
  }));
  return job;
}

const ZERO_UPDATE: UpdateStrategy = {
  Stagger: 0,
  MaxParallel: 0,
  HealthCheck: '',
  MinHealthyTime: 0,
  HealthyDeadline: 0,
  ProgressDeadline: 0,
  Canary: 0,
  AutoRevert: false,
  AutoPromote: false,
};

function mergeUpdate(base: UpdateStrategy, over: Partial<UpdateStrategy> | null): UpdateStrategy {
  if (!over) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) if (v !== null && v !== undefined) out[k] = v;
  return out as unknown as UpdateStrategy;
}

export class SandboxCluster {
  index = 1;
  readonly jobs = new Map<string, JobRecord>();
  readonly allocs = new Map<string, Allocation>();
  readonly evals = new Map<string, Evaluation>();
  readonly csiVolumes = new Map<string, StoredCsiVolume>();
  readonly hostVolumes = new Map<string, HostVolume>();
  private readonly claims = new Map<string, Claim[]>();
  /** CSI volumes (namespace+id) whose storage the plugin has deleted. */
  private readonly destroyedData = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly watchers = new Set<() => void>();
  /**
   * Index of the last change to the allocations table: what Nomad answers a job's allocation list
   * with (`state.Index("allocs")`), lower than `index` when the last change was a job, an
   * evaluation or a volume.
   */
  allocsIndex = 1;
  /** Blocking allocation queries by job key, or ANY_ALLOC for jobs that had none when asked. */
  private readonly allocWatchers = new Map<string, Set<() => void>>();
  /** Every blocking query still waiting, to answer them all when the sandbox stops. */
  private readonly blockedQueries = new Set<() => void>();
  private nextPort = 20000;

  constructor(private readonly opts: ClusterOptions) {}

  // ---- bookkeeping ----

  private bump(): number {
    this.index++;
    for (const wake of [...this.watchers]) wake();
    return this.index;
  }

  /** Resolves once the state index passes `afterIndex`, or after `ms` (blocking queries). */
  waitForChange(afterIndex: number, ms: number): Promise<void> {
    if (this.index > afterIndex) return Promise.resolve();
    return this.waitIn(this.watchers, ms, () => this.index > afterIndex);
  }

  /**
   * A blocking query on a job's allocations, as Nomad's (nomad/job_endpoint.go `Allocations`):
   * it answers at once while the allocations table's index is past `afterIndex`; otherwise it waits
   * on the memdb watch of that job's allocations (state_store.go `AllocsByJob`), so a change to
   * another job, an evaluation or a volume does not wake it. A job with no allocation yet has no
   * node of its own in the index's radix tree and its watch sits on a shared ancestor: any
   * allocation change may wake it, which this keeps as "any".
   */
  waitForJobAllocations(namespace: string, id: string, afterIndex: number, ms: number): Promise<void> {
    if (this.allocsIndex > afterIndex) return Promise.resolve();
    const k = this.jobAllocs(namespace, id).length > 0 ? key(namespace, id) : ANY_ALLOC;
    let set = this.allocWatchers.get(k);
    if (!set) this.allocWatchers.set(k, (set = new Set()));
    const watched = set;
    return this.waitIn(watched, ms, () => this.allocsIndex > afterIndex, () => {
      if (watched.size === 0 && this.allocWatchers.get(k) === watched) this.allocWatchers.delete(k);
    });
  }

  /**
   * A waiter in `set`, woken by whoever changes what it watches: it resolves at a wake that finds
   * `ready()` (else it goes on waiting, as Nomad's blocking loop runs the query again) or after `ms`;
   * `left` runs once it has left the set.
   */
  private waitIn(set: Set<() => void>, ms: number, ready: () => boolean, left: () => void = () => undefined): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.timers.delete(timer);
        set.delete(wake);
        this.blockedQueries.delete(finish);
        left();
        resolve();
      };
      const wake = (): void => {
        if (ready()) finish();
      };
      const timer: NodeJS.Timeout = setTimeout(finish, ms);
      this.timers.add(timer);
      set.add(wake);
      this.blockedQueries.add(finish);
    });
  }

  /** An allocation was placed or changed: the table's index moves and its job's watchers wake. */
  private allocChanged(alloc: Allocation): void {
    this.allocsIndex = alloc.ModifyIndex;
    for (const k of [key(alloc.Namespace, alloc.JobID), ANY_ALLOC]) {
      for (const wake of [...(this.allocWatchers.get(k) ?? [])]) wake();
    }
  }

  private wakeAllocWatchers(): void {
    for (const set of this.allocWatchers.values()) for (const wake of [...set]) wake();
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  /** Stops every timer and wakes every blocking query. */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const finish of [...this.blockedQueries]) finish();
  }

  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.jobs.clear();
    this.allocs.clear();
    this.evals.clear();
    this.csiVolumes.clear();
    this.hostVolumes.clear();
    this.claims.clear();
    this.destroyedData.clear();
    this.allocsIndex = this.bump();
    this.wakeAllocWatchers();
  }

  // ---- jobs ----

  register(
    input: Job,
    namespace: string,
    enforce: { enforceIndex: boolean; jobModifyIndex: number },
  ): { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Warnings: string; Index: number } {
    const job = canonicalizeJob(input, namespace);
    const invalid = registerValidationError(job, job.Namespace ?? namespace, this.opts.namespaces);
    if (invalid) throw new ApiError(500, invalid);
    const k = key(job.Namespace ?? namespace, job.ID);
    const existing = this.jobs.get(k);
    if (enforce.enforceIndex) {
      const current = existing?.job.JobModifyIndex ?? 0;
      const prefix = `Enforcing job modify index ${enforce.jobModifyIndex}`;
      if (enforce.jobModifyIndex === 0 && existing) throw new ApiError(500, `${prefix}: job already exists`);
      if (enforce.jobModifyIndex !== 0 && !existing) throw new ApiError(500, `${prefix}: job does not exist`);
      if (enforce.jobModifyIndex !== 0 && current !== enforce.jobModifyIndex) {
        throw new ApiError(500, `${prefix}: job exists with conflicting job modify index: ${current}`);
      }
    }
    const spec = specOf(job);
    const index = this.bump();
    if (!existing || existing.spec !== spec) {
      job.Version = existing ? (existing.job.Version ?? 0) + 1 : 0;
      job.CreateIndex = existing?.job.CreateIndex ?? index;
      job.JobModifyIndex = index;
      job.SubmitTime = nowNs();
      job.Stable = false;
      this.jobs.set(k, { job, spec });
    }
    const record = this.jobs.get(k) as JobRecord;
    record.job.ModifyIndex = index;
    const ev = this.evaluate(record.job, 'job-register');
    return { EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex, JobModifyIndex: record.job.JobModifyIndex ?? index, Warnings: '', Index: index };
  }

  private jobAllocs(namespace: string, jobId: string): Allocation[] {
    return [...this.allocs.values()].filter((a) => a.Namespace === namespace && a.JobID === jobId);
  }

  private jobStatus(job: Job): JobStatus {
    const allocs = this.jobAllocs(job.Namespace ?? 'default', job.ID).filter((a) => a.JobVersion <= (job.Version ?? 0) && a.Job?.CreateIndex === job.CreateIndex);
    if (allocs.some((a) => !TERMINAL.has(a.ClientStatus))) return 'running';
    if (job.Stop) return 'dead';
    const blocked = [...this.evals.values()].some((e) => e.Namespace === job.Namespace && e.JobID === job.ID && e.Status === 'blocked');
    if (blocked || allocs.length === 0) return 'pending';
    return 'dead';
  }

  readJob(namespace: string, id: string): Job {
    const record = this.jobs.get(key(namespace, id));
    if (!record) throw new ApiError(404, 'job not found');
    const job = clone(record.job);
    job.Status = this.jobStatus(record.job);
    job.StatusDescription = '';
    return job;
  }

  listJobs(namespace: string, prefix: string, withMeta: boolean): JobListStub[] {
    return [...this.jobs.values()]
      .map((r) => r.job)
      .filter((j) => (namespace === '*' || j.Namespace === namespace) && j.ID.startsWith(prefix))
      .sort((a, b) => a.ID.localeCompare(b.ID))
      .map((j) => ({
        ID: j.ID,
        ParentID: '',
        Name: j.Name ?? j.ID,
        Namespace: j.Namespace ?? 'default',
        Datacenters: j.Datacenters ?? null,
        Type: j.Type ?? 'service',
        Priority: j.Priority ?? 50,
        Periodic: false,
        ParameterizedJob: false,
        Stop: j.Stop ?? false,
        Status: this.jobStatus(j),
        StatusDescription: '',
        JobSummary: null,
        CreateIndex: j.CreateIndex ?? 0,
        ModifyIndex: j.ModifyIndex ?? 0,
        JobModifyIndex: j.JobModifyIndex ?? 0,
        SubmitTime: j.SubmitTime ?? 0,
        ...(withMeta && j.Meta ? { Meta: { ...j.Meta } } : {}),
      }));
  }

  deregister(namespace: string, id: string, purge: boolean): { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Index: number } {
    const k = key(namespace, id);
    const record = this.jobs.get(k);
    if (!record) return { EvalID: '', EvalCreateIndex: 0, JobModifyIndex: 0, Index: this.index };
    const index = this.bump();
    record.job.Stop = true;
    // Nomad stores the stopped job as a new version.
    record.job.Version = (record.job.Version ?? 0) + 1;
    record.job.JobModifyIndex = index;
    record.job.ModifyIndex = index;
    record.spec = specOf(record.job);
    const ev = this.evaluate(record.job, 'job-deregister');
    if (purge) this.jobs.delete(k);
    return { EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex, JobModifyIndex: index, Index: index };
  }

  /**
   * Like Nomad's AllocsByJob: while a job with this id exists, only the allocations of its
   * incarnation (same job CreateIndex) unless `all`; once it is purged, every allocation left.
   */
  jobAllocationStubs(namespace: string, id: string, all = false): AllocListStub[] {
    const current = this.jobs.get(key(namespace, id))?.job;
    return this.jobAllocs(namespace, id)
      .filter((a) => all || !current || a.Job?.CreateIndex === current.CreateIndex)
      .sort((a, b) => b.CreateIndex - a.CreateIndex)
      .map((a) => this.stub(a));
  }

  jobEvaluations(namespace: string, id: string): Evaluation[] {
    return [...this.evals.values()]
      .filter((e) => e.Namespace === namespace && e.JobID === id)
      .sort((a, b) => b.CreateIndex - a.CreateIndex)
      .map(evalView);
  }

  readEvaluation(id: string): Evaluation {
    if (id.length !== 36) throw new ApiError(500, 'failed to lookup eval: eval lookup failed: index error: UUID must be 36 characters');
    const ev = this.evals.get(id);
    if (!ev) throw new ApiError(404, 'eval not found');
    return evalView(ev);
  }

  readAllocation(id: string): Allocation {
    if (id.length !== 36) throw new ApiError(500, 'alloc lookup failed: index error: UUID must be 36 characters');
    const alloc = this.allocs.get(id);
    if (!alloc) throw new ApiError(404, 'alloc not found');
    return allocView(alloc);
  }

  private stub(a: Allocation): AllocListStub {
    const { Job: _job, AllocatedResources: _res, DeploymentID: _dep, AllocModifyIndex: _ami, ...stub } = clone(a);
    return stub;
  }

  // ---- scheduling ----

  private newEval(job: Job, triggeredBy: string, status: Evaluation['Status']): Evaluation {
    const index = this.bump();
    const ev: Evaluation = {
      ID: randomUUID(),
      Namespace: job.Namespace ?? 'default',
      Priority: job.Priority ?? 50,
      Type: job.Type ?? 'service',
      TriggeredBy: triggeredBy,
      JobID: job.ID,
      JobModifyIndex: job.JobModifyIndex ?? index,
      Status: status,
      StatusDescription: status === 'blocked' ? 'created to place remaining allocations' : '',
      BlockedEval: '',
      PreviousEval: '',
      FailedTGAllocs: null,
      QueuedAllocations: null,
      CreateIndex: index,
      ModifyIndex: index,
      CreateTime: nowNs(),
      ModifyTime: nowNs(),
    };
    this.evals.set(ev.ID, ev);
    return ev;
  }

  private evaluate(job: Job, triggeredBy: string): Evaluation {
    const ev = this.newEval(job, triggeredBy, 'pending');
    const delay = this.opts.evalDelayMs ?? 0;
    if (delay <= 0) return this.schedule(job, ev);
    this.after(delay, () => {
      // the scheduler plans against the job as it is when it gets to the evaluation
      const current = this.jobs.get(key(job.Namespace ?? 'default', job.ID))?.job;
      if (ev.Status === 'pending') this.schedule(current ?? job, ev);
    });
    return ev;
  }

  /** The scheduler's work on a pending evaluation: stops what the job no longer wants, places what it lacks. */
  private schedule(job: Job, ev: Evaluation): Evaluation {
    const namespace = job.Namespace ?? 'default';
    // A newer register/deregister supersedes whatever was waiting for capacity.
    for (const other of this.evals.values()) {
      if (other.Namespace === namespace && other.JobID === job.ID && other.Status === 'blocked') {
        other.Status = 'canceled';
        other.StatusDescription = `evaluation "${ev.ID}" successful`;
        other.ModifyIndex = ev.CreateIndex;
      }
    }
    const live = this.jobAllocs(namespace, job.ID).filter((a) => a.DesiredStatus === 'run');
    for (const a of live) if (job.Stop || a.JobVersion !== job.Version) this.stopAlloc(a, job.Stop ? 'alloc not needed due to job update' : 'alloc is being updated due to job update');

    if (!job.Stop) {
      const failed = this.placeMissing(job, ev.ID);
      ev.QueuedAllocations = Object.fromEntries((job.TaskGroups ?? []).map((tg) => [tg.Name, failed.queued[tg.Name] ?? 0]));
      if (Object.keys(failed.metrics).length > 0) {
        ev.FailedTGAllocs = failed.metrics;
        const blocked = this.newEval(job, 'queued-allocs', 'blocked');
        blocked.PreviousEval = ev.ID;
        ev.BlockedEval = blocked.ID;
      }
    }
    ev.Status = 'complete';
    ev.ModifyIndex = this.bump();
    ev.ModifyTime = nowNs();
    return ev;
  }

  /** Places what each group is missing; returns why the rest could not be placed. */
  private placeMissing(job: Job, evalId: string): { metrics: Record<string, AllocationMetric>; queued: Record<string, number> } {
    const namespace = job.Namespace ?? 'default';
    const metrics: Record<string, AllocationMetric> = {};
    const queued: Record<string, number> = {};
    const live = this.jobAllocs(namespace, job.ID).filter((a) => a.DesiredStatus === 'run' && a.JobVersion === job.Version);
    for (const tg of job.TaskGroups ?? []) {
      const have = live.filter((a) => a.TaskGroup === tg.Name).length;
      for (let i = have; i < (tg.Count ?? 1); i++) {
        const check = this.feasibility(job, tg);
        if ('reason' in check) {
          const metric = metrics[tg.Name] ?? emptyMetric();
          if (metric.ConstraintFiltered) metric.ConstraintFiltered[check.reason] = 1;
          metrics[tg.Name] = metric;
          queued[tg.Name] = (queued[tg.Name] ?? 0) + 1;
          continue;
        }
        this.place(job, tg, i, evalId, check.claims);
      }
    }
    return { metrics, queued };
  }

  private feasibility(job: Job, tg: TaskGroup): { claims: Claim[] } | { reason: string } {
    const namespace = job.Namespace ?? 'default';
    if (tg.Tasks.some((t) => !this.opts.drivers.includes(t.Driver))) return { reason: 'missing drivers' };
    const claims: Claim[] = [];
    for (const req of Object.values(tg.Volumes ?? {})) {
      if (req.Type === 'csi') {
        const k = key(namespace, req.Source);
        const vol = this.csiVolumes.get(k);
        if (!vol) return { reason: `missing CSI Volume ${req.Source}` };
        const mode = wantsWrite(req.ReadOnly, req.AccessMode || vol.AccessMode) ? 'write' : 'read';
        const accessMode = req.AccessMode || vol.AccessMode;
        const holders = Object.keys(mode === 'write' ? vol.WriteAllocs : vol.ReadAllocs)
          .map((id) => this.allocs.get(id))
          .filter((a) => a && a.JobID !== job.ID);
        const exclusive = mode === 'write' ? accessMode !== 'multi-node-multi-writer' : accessMode === 'single-node-reader-only';
        if (exclusive && holders.length > 0) {
          return { reason: `CSI volume ${req.Source} has exhausted its available ${mode === 'write' ? 'writer' : 'reader'} claims` };
        }
        claims.push({ kind: 'csi', key: k, mode });
      } else if (req.Type === 'host') {
        const vol = [...this.hostVolumes.values()].find((v) => v.Namespace === namespace && v.Name === req.Source && v.State === 'ready');
        if (!vol) return { reason: 'missing compatible host volumes' };
        claims.push({ kind: 'host', id: vol.ID });
      }
    }
    return { claims };
  }

  private place(job: Job, tg: TaskGroup, i: number, evalId: string, claims: Claim[]): void {
    const index = this.bump();
    const ports = (tg.Networks ?? []).flatMap((n) => [
      ...(n.ReservedPorts ?? []).map((p) => ({ Label: p.Label, Value: p.Value, To: p.To, HostIP: '127.0.0.1' })),
      ...(n.DynamicPorts ?? []).map((p) => ({ Label: p.Label, Value: this.nextPort++, To: p.To || 0, HostIP: '127.0.0.1' })),
    ]);
    const taskStates: Record<string, TaskState> = {};
    for (const t of tg.Tasks) {
      taskStates[t.Name] = {
        State: 'pending',
        Failed: false,
        Restarts: 0,
        LastRestart: null,
        StartedAt: null,
        FinishedAt: null,
        Events: [{ Type: 'Received', Time: nowNs(), DisplayMessage: 'Task received by client', FailsTask: false }],
      };
    }
    const alloc: Allocation = {
      ID: randomUUID(),
      EvalID: evalId,
      Name: `${job.ID}.${tg.Name}[${i}]`,
      Namespace: job.Namespace ?? 'default',
      NodeID: NODE_ID,
      NodeName: NODE_NAME,
      JobID: job.ID,
      JobType: job.Type ?? 'service',
      JobVersion: job.Version ?? 0,
      TaskGroup: tg.Name,
      DesiredStatus: 'run',
      DesiredDescription: '',
      ClientStatus: 'pending',
      ClientDescription: 'No tasks have started',
      TaskStates: taskStates,
      DeploymentStatus: null,
      FollowupEvalID: '',
      CreateIndex: index,
      ModifyIndex: index,
      AllocModifyIndex: index,
      CreateTime: nowNs(),
      ModifyTime: nowNs(),
      Job: clone(job),
      DeploymentID: '',
      AllocatedResources: {
        Tasks: Object.fromEntries(
          tg.Tasks.map((t) => [t.Name, { Cpu: { CpuShares: t.Resources?.CPU ?? 100 }, Memory: { MemoryMB: t.Resources?.MemoryMB ?? 300 } }]),
        ),
        Shared: { Ports: ports, Networks: [] },
      },
    };
    this.allocs.set(alloc.ID, alloc);
    this.allocChanged(alloc);
    this.claim(alloc.ID, claims);
    // Only service jobs have deployments; batch allocations never get a DeploymentStatus.
    const needsHealthy = job.Type === 'service' && Boolean(tg.Update);
    const csiRefused = Object.values(tg.Volumes ?? {}).some((v) => v.Type === 'csi') && tg.Tasks.every((t) => NO_CSI_MOUNTS.has(t.Driver));
    this.after(this.opts.allocRunningDelayMs, () => {
      if (csiRefused) return this.failSetup(alloc, 'failed to setup alloc: pre-run hook "csi_hook" failed: no task supports CSI');
      const racing = this.unreleasedStoppedClaim(alloc);
      if (racing) {
        return this.failSetup(
          alloc,
          `failed to setup alloc: pre-run hook "csi_hook" failed: mounting volumes: volume "${racing}" is already published on another node and does not have MULTI_NODE volume capability: rpc error: code = FailedPrecondition desc = volume "${racing}" must be staged before publishing`,
        );
      }
      this.start(alloc, needsHealthy);
    });
  }

  /**
   * A single-writer CSI volume this allocation claims that a stopped allocation still holds (its
   * claim not yet released), or null. Placement lets the job's own old claims pass, but on a real
   * client the new mount races the old allocation's unmount: Nomad 1.6 with the CSI hostpath plugin
   * failed such a start with the message `place` gives. The sandbox fails it every time.
   */
  private unreleasedStoppedClaim(alloc: Allocation): string | null {
    for (const c of this.claims.get(alloc.ID) ?? []) {
      if (c.kind !== 'csi' || c.mode !== 'write') continue;
      const vol = this.csiVolumes.get(c.key);
      if (!vol || vol.AccessMode === 'multi-node-multi-writer') continue;
      const stopped = (id: string) => {
        const holder = this.allocs.get(id);
        return !holder || holder.DesiredStatus !== 'run' || TERMINAL.has(holder.ClientStatus);
      };
      if (Object.keys(vol.WriteAllocs).some((id) => id !== alloc.ID && stopped(id))) return vol.ID;
    }
    return null;
  }

  private touch(alloc: Allocation): void {
    alloc.ModifyIndex = this.bump();
    alloc.ModifyTime = nowNs();
    this.allocChanged(alloc);
  }

  private start(alloc: Allocation, needsHealthy: boolean): void {
    if (alloc.DesiredStatus !== 'run' || alloc.ClientStatus !== 'pending') return;
    const fate = this.opts.faults.allocationFate(alloc.JobID);
    if (fate === 'pending') return;
    for (const state of Object.values(alloc.TaskStates ?? {})) {
      if (fate === 'fail') {
        state.State = 'dead';
        state.Failed = true;
        state.FinishedAt = iso();
        state.Events?.push(
          { Type: 'Driver Failure', Time: nowNs(), DisplayMessage: 'Failed to pull `image`: simulated driver failure', DriverError: 'simulated driver failure', FailsTask: true },
          { Type: 'Not Restarting', Time: nowNs(), DisplayMessage: 'Error was unrecoverable', FailsTask: true },
        );
      } else {
        state.State = 'running';
        state.StartedAt = iso();
        state.Events?.push({ Type: 'Started', Time: nowNs(), DisplayMessage: 'Task started by client', FailsTask: false });
      }
    }
    alloc.ClientStatus = fate === 'fail' ? 'failed' : 'running';
    alloc.ClientDescription = fate === 'fail' ? 'Failed tasks' : 'Tasks are running';
    this.touch(alloc);
    if (fate === 'fail') {
      this.releaseClaimsLater(alloc.ID);
      return;
    }
    if (needsHealthy) {
      this.after(this.opts.healthyDelayMs, () => {
        if (alloc.DesiredStatus !== 'run' || alloc.ClientStatus !== 'running') return;
        alloc.DeploymentStatus = { Healthy: true, Timestamp: iso(), Canary: false, ModifyIndex: this.index + 1 };
        this.touch(alloc);
      });
    }
  }

  /** An alloc runner pre-run hook failed: every task is dead before it started. */
  private failSetup(alloc: Allocation, message: string): void {
    if (alloc.DesiredStatus !== 'run' || alloc.ClientStatus !== 'pending') return;
    for (const state of Object.values(alloc.TaskStates ?? {})) {
      state.State = 'dead';
      state.Failed = true;
      state.FinishedAt = iso();
      state.Events?.push({ Type: 'Setup Failure', Time: nowNs(), DisplayMessage: message, FailsTask: true });
    }
    alloc.ClientStatus = 'failed';
    alloc.ClientDescription = 'Failed tasks';
    this.touch(alloc);
    this.releaseClaimsLater(alloc.ID);
  }

  private stopAlloc(alloc: Allocation, why: string): void {
    alloc.DesiredStatus = 'stop';
    alloc.DesiredDescription = why;
    this.touch(alloc);
    this.after(this.opts.stopDelayMs, () => {
      if (!TERMINAL.has(alloc.ClientStatus)) {
        for (const state of Object.values(alloc.TaskStates ?? {})) {
          state.State = 'dead';
          state.FinishedAt = iso();
          state.Events?.push({ Type: 'Killed', Time: nowNs(), DisplayMessage: 'Task successfully killed', FailsTask: false });
        }
        alloc.ClientStatus = 'complete';
        alloc.ClientDescription = 'All tasks have completed';
        this.touch(alloc);
      }
      this.releaseClaimsLater(alloc.ID);
    });
  }

  // ---- claims ----

  private claim(allocId: string, claims: Claim[]): void {
    this.claims.set(allocId, claims);
    for (const c of claims) {
      if (c.kind !== 'csi') continue;
      const vol = this.csiVolumes.get(c.key);
      if (!vol) continue;
      (c.mode === 'write' ? vol.WriteAllocs : vol.ReadAllocs)[allocId] = null;
      vol.ModifyIndex = this.index;
    }
  }

  /** Nomad releases CSI claims asynchronously (volume watcher + node unpublish) after the alloc stops. */
  private releaseClaimsLater(allocId: string): void {
    this.after(this.opts.claimReleaseDelayMs, () => {
      const claims = this.claims.get(allocId) ?? [];
      this.claims.delete(allocId);
      for (const c of claims) {
        if (c.kind !== 'csi') continue;
        const vol = this.csiVolumes.get(c.key);
        if (!vol) continue;
        delete vol.WriteAllocs[allocId];
        delete vol.ReadAllocs[allocId];
        vol.ModifyIndex = this.bump();
      }
      this.retryBlocked();
    });
  }

  private retryBlocked(): void {
    for (const ev of [...this.evals.values()]) {
      if (ev.Status !== 'blocked') continue;
      const record = this.jobs.get(key(ev.Namespace, ev.JobID));
      if (!record || record.job.Stop) continue;
      const failed = this.placeMissing(record.job, ev.ID);
      if (Object.keys(failed.metrics).length > 0) continue;
      ev.Status = 'complete';
      ev.StatusDescription = '';
      ev.ModifyIndex = this.bump();
      ev.ModifyTime = nowNs();
    }
  }

  private hostVolumeUsers(id: string): string[] {
    return [...this.claims.entries()]
      .filter(([allocId, cs]) => cs.some((c) => c.kind === 'host' && c.id === id) && !TERMINAL.has(this.allocs.get(allocId)?.ClientStatus ?? 'complete'))
      .map(([allocId]) => allocId);
  }

  // ---- CSI volumes ----

  private csiPlugin(pluginId: string): CsiPluginConfig {
    const plugin = this.opts.plugins.find((p) => p.id === pluginId);
    if (!plugin) throw new ApiError(500, `no CSI plugin named: ${pluginId} could be found`);
    return plugin;
  }

  private validateCsi(v: Record<string, unknown>): void {
    const problems: string[] = [];
    if (!v.ID) problems.push('missing volume id');
    if (!v.PluginID) problems.push('missing plugin id');
    if (!v.Namespace) problems.push('missing namespace');
    const caps = v.RequestedCapabilities;
    if (!Array.isArray(caps) || caps.length === 0) problems.push('must include at least one capability block');
    if (problems.length) throw new ApiError(500, `validation: ${problems.join(', ')}`);
  }

  upsertCsiVolumes(volumes: Record<string, unknown>[], namespace: string, create: boolean): CsiVolume[] {
    if (volumes.length === 0) throw new ApiError(400, 'must specify at least one volume');
    const normalized = volumes.map((v): Record<string, unknown> & { Namespace: string } => ({ ...v, Namespace: (v.Namespace as string) || namespace }));
    for (const v of normalized) {
      this.validateCsi(v);
      const plugin = this.csiPlugin(String(v.PluginID));
      if (create && !plugin.supportsCreate) throw new ApiError(500, 'plugin does not support creating volumes');
    }
    const out: CsiVolume[] = [];
    for (const v of normalized) {
      const index = this.bump();
      const k = key(v.Namespace, String(v.ID));
      const existing = this.csiVolumes.get(k);
      if (!existing && create) this.destroyedData.delete(k);
      const caps = (v.RequestedCapabilities as CsiVolumeCapability[]).map((c) => ({ AccessMode: c.AccessMode, AttachmentMode: c.AttachmentMode }));
      const min = Number(v.RequestedCapacityMin ?? 0);
      const max = Number(v.RequestedCapacityMax ?? 0);
      const vol: StoredCsiVolume = {
        ID: String(v.ID),
        Name: String(v.Name ?? v.ID),
        Namespace: v.Namespace,
        ExternalID: String(v.ExternalID ?? existing?.ExternalID ?? `sandbox-${String(v.ID)}`),
        PluginID: String(v.PluginID),
        Provider: `${String(v.PluginID)}.csi.sandbox`,
        ProviderVersion: '1.0.0',
        Capacity: Math.max(existing?.Capacity ?? 0, min || max || DEFAULT_CAPACITY),
        RequestedCapacityMin: min,
        RequestedCapacityMax: max,
        RequestedCapabilities: caps,
        AccessMode: existing?.AccessMode ?? '',
        AttachmentMode: existing?.AttachmentMode ?? '',
        MountOptions: (v.MountOptions as CsiVolume['MountOptions']) ?? null,
        Secrets: null,
        Parameters: (v.Parameters as Record<string, string>) ?? null,
        Context: (v.Context as Record<string, string>) ?? null,
        ReadAllocs: existing?.ReadAllocs ?? {},
        WriteAllocs: existing?.WriteAllocs ?? {},
        Allocations: [],
        Schedulable: true,
        ControllerRequired: true,
        ControllersHealthy: 1,
        ControllersExpected: 1,
        NodesHealthy: 1,
        NodesExpected: 1,
        ResourceExhausted: null,
        CreateIndex: existing?.CreateIndex ?? index,
        ModifyIndex: index,
      };
      this.csiVolumes.set(k, vol);
      out.push(this.csiView(vol));
    }
    this.retryBlocked();
    return out;
  }

  private csiView(vol: StoredCsiVolume): CsiVolume {
    const view = clone(vol);
    const ids = [...Object.keys(vol.WriteAllocs), ...Object.keys(vol.ReadAllocs)];
    view.Allocations = ids.map((id) => this.allocs.get(id)).filter((a): a is Allocation => Boolean(a)).map((a) => this.stub(a));
    view.Secrets = null;
    return view;
  }

  readCsiVolume(namespace: string, id: string): CsiVolume {
    const vol = this.csiVolumes.get(key(namespace, id));
    if (!vol) throw new ApiError(404, 'volume not found');
    return this.csiView(vol);
  }

  listCsiVolumes(namespace: string, prefix: string): CsiVolumeListStub[] {
    return [...this.csiVolumes.values()]
      .filter((v) => (namespace === '*' || v.Namespace === namespace) && v.ID.startsWith(prefix))
      .sort((a, b) => a.ID.localeCompare(b.ID))
      .map((v) => ({
        ID: v.ID,
        Namespace: v.Namespace,
        Name: v.Name,
        ExternalID: v.ExternalID,
        AccessMode: v.AccessMode,
        AttachmentMode: v.AttachmentMode,
        CurrentReaders: Object.keys(v.ReadAllocs).length,
        CurrentWriters: Object.keys(v.WriteAllocs).length,
        Schedulable: v.Schedulable,
        PluginID: v.PluginID,
        Provider: v.Provider,
        ControllerRequired: v.ControllerRequired,
        ControllersHealthy: v.ControllersHealthy,
        ControllersExpected: v.ControllersExpected,
        NodesHealthy: v.NodesHealthy,
        NodesExpected: v.NodesExpected,
        ResourceExhausted: v.ResourceExhausted,
        CreateIndex: v.CreateIndex,
        ModifyIndex: v.ModifyIndex,
      }));
  }

  /** `delete` = plugin delete + deregister; both refuse a claimed volume unless forced (deregister only). */
  removeCsiVolume(namespace: string, id: string, opts: { force: boolean; pluginDelete: boolean }): void {
    const k = key(namespace, id);
    const vol = this.csiVolumes.get(k);
    if (!vol) throw new ApiError(500, `volume not found: ${id}`);
    const claimed = Object.keys(vol.WriteAllocs).length + Object.keys(vol.ReadAllocs).length > 0;
    if (opts.pluginDelete) {
      if (!this.csiPlugin(vol.PluginID).supportsCreate) throw new ApiError(500, 'plugin does not support deleting volumes');
      // Nomad 1.6 calls the plugin's ControllerDeleteVolume before its in-use check
      // (nomad/csi_endpoint.go CSIVolume.Delete): the storage is gone even when the answer is
      // `volume in use` and the volume stays registered with its claims.
      this.destroyedData.add(k);
      this.bump();
    }
    if (claimed && (opts.pluginDelete || !opts.force)) throw new ApiError(500, `volume in use: ${id}`);
    this.csiVolumes.delete(k);
    this.bump();
  }

  /** Sandbox-only: whether a CSI volume is registered and whether the plugin destroyed its storage. */
  csiVolumeData(namespace: string, id: string): { ID: string; Namespace: string; Registered: boolean; DataDestroyed: boolean } {
    const k = key(namespace, id);
    return { ID: id, Namespace: namespace, Registered: this.csiVolumes.has(k), DataDestroyed: this.destroyedData.has(k) };
  }

  // ---- host volumes ----

  upsertHostVolume(v: Record<string, unknown>, namespace: string): HostVolume {
    const problems: string[] = [];
    if (!v.Name) problems.push('missing name');
    if (problems.length) throw new ApiError(500, `validation: ${problems.join(', ')}`);
    const pluginId = String(v.PluginID ?? '');
    if (pluginId && !this.opts.hostVolumePlugins.includes(pluginId)) {
      throw new ApiError(500, `could not place volume "${String(v.Name)}": no node meets constraints: missing host volume plugin "${pluginId}"`);
    }
    const id = v.ID ? String(v.ID) : undefined;
    const existing = id ? this.hostVolumes.get(id) : undefined;
    if (id && !existing) throw new ApiError(500, `no such volume: ${id}`);
    const index = this.bump();
    const min = Number(v.RequestedCapacityMinBytes ?? 0);
    const max = Number(v.RequestedCapacityMaxBytes ?? 0);
    const volId = existing?.ID ?? randomUUID();
    const vol: HostVolume = {
      ID: volId,
      Name: String(v.Name),
      Namespace: String(v.Namespace || namespace),
      NodePool: String(v.NodePool || 'default'),
      NodeID: NODE_ID,
      PluginID: pluginId,
      HostPath: `/opt/nomad/data/host_volumes/${volId}`,
      RequestedCapacityMinBytes: min,
      RequestedCapacityMaxBytes: max,
      RequestedCapabilities: (v.RequestedCapabilities as CsiVolumeCapability[]) ?? null,
      Parameters: (v.Parameters as Record<string, string>) ?? null,
      // The built-in `mkdir` plugin is synchronous, so the volume is ready at once.
      State: 'ready',
      CapacityBytes: Math.max(existing?.CapacityBytes ?? 0, min || max),
      Allocations: [],
      CreateIndex: existing?.CreateIndex ?? index,
      ModifyIndex: index,
    };
    this.hostVolumes.set(vol.ID, vol);
    this.retryBlocked();
    return this.hostView(vol);
  }

  private hostView(vol: HostVolume): HostVolume {
    const view = clone(vol);
    view.Allocations = this.hostVolumeUsers(vol.ID)
      .map((id) => this.allocs.get(id))
      .filter((a): a is Allocation => Boolean(a))
      .map((a) => this.stub(a));
    return view;
  }

  readHostVolume(id: string): HostVolume {
    const vol = this.hostVolumes.get(id);
    if (!vol) throw new ApiError(404, 'volume not found');
    return this.hostView(vol);
  }

  listHostVolumes(namespace: string, prefix: string): HostVolumeStub[] {
    return [...this.hostVolumes.values()]
      .filter((v) => (namespace === '*' || v.Namespace === namespace) && (v.ID.startsWith(prefix) || v.Name.startsWith(prefix)))
      .sort((a, b) => a.Name.localeCompare(b.Name))
      .map((v) => ({
        ID: v.ID,
        Name: v.Name,
        Namespace: v.Namespace,
        PluginID: v.PluginID,
        NodePool: v.NodePool,
        NodeID: v.NodeID,
        State: v.State,
        CapacityBytes: v.CapacityBytes,
        CreateIndex: v.CreateIndex,
        ModifyIndex: v.ModifyIndex,
      }));
  }

  deleteHostVolume(id: string, force: boolean): number {
    if (!this.hostVolumes.has(id)) throw new ApiError(500, `no such volume: ${id}`);
    const users = this.hostVolumeUsers(id);
    if (users.length > 0 && !force) throw new ApiError(500, `volume ${id} in use by allocations: [${users.join(', ')}]`);
    this.hostVolumes.delete(id);
    return this.bump();
  }

  snapshot(): {
    index: number;
    jobs: Job[];
    allocations: AllocListStub[];
    evaluations: Evaluation[];
    csiVolumes: CsiVolume[];
    hostVolumes: HostVolume[];
  } {
    return {
      index: this.index,
      jobs: [...this.jobs.values()].map((r) => this.readJob(r.job.Namespace ?? 'default', r.job.ID)),
      allocations: [...this.allocs.values()].map((a) => this.stub(a)),
      evaluations: [...this.evals.values()].map(clone),
      csiVolumes: [...this.csiVolumes.values()].map((v) => this.csiView(v)),
      hostVolumes: [...this.hostVolumes.values()].map((v) => this.hostView(v)),
    };
  }
}
