/**
 * The contract probes: HTTP request sequences against the Nomad API that knot depends on. The same
 * list runs against the sandbox and a real agent (tests/nomad/differential.test.ts); each recorded
 * step becomes one normalized observation (see runner.ts), so the two can be compared step by step.
 *
 * Probes only use what a bare Nomad client node has here: the `exec` and `raw_exec` drivers and the
 * CSI plugin `hostpath`. Every id a probe creates starts with `ctx.run`, so runs never collide and
 * answers can be compared with that prefix masked.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Answer {
  status: number;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

export interface ProbeTarget {
  label: string;
  url: string;
  nodeId: string;
  /** Whether the storage behind a CSI volume still exists (its data has not been destroyed). */
  volumeDataExists(volume: { ID: string; ExternalID: string }): Promise<boolean>;
  /** Upper bound for every condition a probe waits for. */
  waitTimeoutMs: number;
}

export interface StepOptions {
  /** Values worth comparing exactly (beyond the shape), computed from the parsed JSON body. */
  values?: (json: any) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ProbeContext {
  /** Unique prefix of this run; masked in observations. */
  run: string;
  target: ProbeTarget;
  /** A recorded step. */
  step(name: string, method: string, urlPath: string, body?: unknown, opts?: StepOptions): Promise<Answer>;
  /** A recorded observation that is not an HTTP answer (e.g. whether a volume's data survived). */
  note(name: string, value: unknown): void;
  /** An unrecorded request (setup, cleanup). */
  send(method: string, urlPath: string, body?: unknown): Promise<Answer>;
  /** Polls until `probe` returns a value other than undefined; throws after the target's bound. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T>;
}

export interface Probe {
  name: string;
  run(ctx: ProbeContext): Promise<void>;
}

const ZERO_UUID = '00000000-0000-4000-8000-000000000000';

/** The seed template rendered with plain values (what knot sends to /v1/jobs/parse). */
export function renderedSeedJob(spaceId: string): string {
  const file = path.resolve(__dirname, '../../examples/templates/debian/job.nomad.hcl');
  const values: Record<string, string> = {
    'space.name': 'probe',
    'space.id': spaceId,
    'user.username': 'alice',
    'user.timezone': 'UTC',
    'server.url': 'http://127.0.0.1:3000',
  };
  return readFileSync(file, 'utf8').replace(/\$\{\{\s*\.?([\w.]+)\s*\}\}/g, (_m, k: string) => values[k] ?? '');
}

interface TaskSpec {
  name?: string;
  driver?: string;
  command?: string;
  memory?: number;
  volume?: string;
}

/** An api.Job as knot would submit it after parse: an exec task that keeps running. */
function job(
  id: string,
  opts: { type?: string; namespace?: string; count?: number; meta?: Record<string, string>; tasks?: TaskSpec[]; csiVolume?: string; noGroups?: boolean } = {},
): Record<string, unknown> {
  const tasks = (opts.tasks ?? [{}]).map((t) => ({
    Name: t.name ?? 't',
    Driver: t.driver ?? 'exec',
    Config: { command: '/bin/sh', args: ['-c', t.command ?? 'sleep 3600'] },
    Resources: { CPU: 100, MemoryMB: t.memory ?? 64 },
    ...(t.volume ? { VolumeMounts: [{ Volume: 'home', Destination: '/home', ReadOnly: false }] } : {}),
  }));
  return {
    ID: id,
    Name: id,
    Type: opts.type ?? 'service',
    Datacenters: ['dc1'],
    ...(opts.namespace ? { Namespace: opts.namespace } : {}),
    ...(opts.meta ? { Meta: opts.meta } : {}),
    TaskGroups: opts.noGroups
      ? []
      : [
          {
            Name: 'g',
            Count: opts.count ?? 1,
            Tasks: tasks,
            ...(opts.csiVolume
              ? {
                  Volumes: {
                    home: { Name: 'home', Type: 'csi', Source: opts.csiVolume, ReadOnly: false, AccessMode: 'single-node-writer', AttachmentMode: 'file-system' },
                  },
                }
              : {}),
          },
        ],
  };
}

function csiVolume(id: string): Record<string, unknown> {
  return {
    ID: id,
    Name: id,
    Namespace: 'default',
    PluginID: 'hostpath',
    RequestedCapacityMin: 1e6,
    RequestedCapacityMax: 1e7,
    RequestedCapabilities: [{ AccessMode: 'single-node-writer', AttachmentMode: 'file-system' }],
    MountOptions: { FSType: 'ext4', MountFlags: ['noatime'] },
    Secrets: { key: 'value' },
    Parameters: {},
  };
}

type Stub = { ID: string; ClientStatus: string; DesiredStatus: string; JobVersion: number; TaskStates?: Record<string, { State: string; Events?: { Type: string }[] }> | null };

async function allocs(ctx: ProbeContext, jobId: string, all = false): Promise<Stub[]> {
  const a = await ctx.send('GET', `/v1/job/${jobId}/allocations${all ? '?all=true' : ''}`);
  return (a.json as Stub[] | undefined) ?? [];
}

/** Waits for a running allocation of the job's current version. */
async function runningAlloc(ctx: ProbeContext, jobId: string): Promise<Stub> {
  return ctx.waitFor(`a running allocation of ${jobId}`, async () => (await allocs(ctx, jobId)).find((a) => a.ClientStatus === 'running' && a.DesiredStatus === 'run'));
}

async function allTerminal(ctx: ProbeContext, jobId: string, all = false): Promise<void> {
  await ctx.waitFor(`every allocation of ${jobId} terminal`, async () =>
    (await allocs(ctx, jobId, all)).every((a) => ['complete', 'failed', 'lost'].includes(a.ClientStatus)) ? true : undefined,
  );
}

async function purge(ctx: ProbeContext, jobId: string): Promise<void> {
  await ctx.send('DELETE', `/v1/job/${jobId}?purge=true`);
  await allTerminal(ctx, jobId, true);
}

/** Sorted, so list order (unsorted on a real Nomad) does not count as a difference. */
const statuses = (list: Stub[]): string[] => list.map((a) => `${a.DesiredStatus}/${a.ClientStatus}`).sort();

const updateBlock = (u: Record<string, unknown> | null | undefined): unknown =>
  u ? { MaxParallel: u.MaxParallel, HealthCheck: u.HealthCheck, MinHealthyTime: u.MinHealthyTime, HealthyDeadline: u.HealthyDeadline, Canary: u.Canary, AutoRevert: u.AutoRevert } : u;

export const PROBES: Probe[] = [
  {
    name: 'transport',
    async run(ctx) {
      await ctx.step('unknown route', 'GET', '/v1/nope');
      await ctx.step('wrong method', 'POST', '/v1/volume/csi/x/create', {});
      await ctx.step('empty register body', 'PUT', '/v1/jobs', '');
      await ctx.step('register without job', 'PUT', '/v1/jobs', {});
      await ctx.step('register without job id', 'PUT', '/v1/jobs', { Job: { Name: 'x' } });
      await ctx.step('read unknown job', 'GET', `/v1/job/${ctx.run}-unknown`);
      await ctx.step('allocations of unknown job', 'GET', `/v1/job/${ctx.run}-unknown/allocations`, undefined, { values: (j) => j });
      await ctx.step('deregister unknown job', 'DELETE', `/v1/job/${ctx.run}-unknown`, undefined, { values: (j) => ({ EvalID: j?.EvalID }) });
    },
  },
  {
    name: 'parse seed job',
    async run(ctx) {
      await ctx.step('parse', 'PUT', '/v1/jobs/parse', { JobHCL: renderedSeedJob(`${ctx.run}seed`), Canonicalize: false }, {
        values: (j) => ({
          ID: j.ID,
          Update: j.Update,
          Ports: (j.TaskGroups?.[0]?.Networks?.[0]?.DynamicPorts ?? []).map((p: { Label: string; Value: number; To: number }) => ({ Label: p.Label, Value: p.Value, To: p.To })),
          Volumes: Object.fromEntries(
            Object.entries((j.TaskGroups?.[0]?.Volumes ?? {}) as Record<string, Record<string, unknown>>).map(([k, v]) => [
              k,
              { Type: v.Type, Source: v.Source, ReadOnly: v.ReadOnly, AccessMode: v.AccessMode, AttachmentMode: v.AttachmentMode },
            ]),
          ),
          Env: j.TaskGroups?.[0]?.Tasks?.[0]?.Env,
          Resources: { CPU: j.TaskGroups?.[0]?.Tasks?.[0]?.Resources?.CPU, MemoryMB: j.TaskGroups?.[0]?.Tasks?.[0]?.Resources?.MemoryMB },
        }),
      });
      await ctx.step('parse empty', 'PUT', '/v1/jobs/parse', { JobHCL: '' });
    },
  },
  {
    name: 'register invalid jobs',
    async run(ctx) {
      const r = ctx.run;
      await ctx.step('no task groups', 'PUT', '/v1/jobs', { Job: job(`${r}-nogroups`, { noGroups: true }) });
      await ctx.step('count -1', 'PUT', '/v1/jobs', { Job: job(`${r}-count`, { count: -1 }) });
      await ctx.step('memory 5', 'PUT', '/v1/jobs', { Job: job(`${r}-mem`, { tasks: [{ memory: 5 }] }) });
      await ctx.step('count -1 and memory 5', 'PUT', '/v1/jobs', { Job: job(`${r}-both`, { count: -1, tasks: [{ memory: 5 }] }) });
      await ctx.step('two tasks with memory 5', 'PUT', '/v1/jobs', { Job: job(`${r}-mem2`, { tasks: [{ name: 'a', memory: 5 }, { name: 'b', memory: 5 }] }) });
      await ctx.step('no tasks', 'PUT', '/v1/jobs', { Job: { ...job(`${r}-notasks`), TaskGroups: [{ Name: 'g', Count: 1 }] } });
      await ctx.step('unknown namespace in job', 'PUT', '/v1/jobs', { Job: job(`${r}-ns`, { namespace: 'nope' }) });
      await ctx.step('unknown namespace in query', 'PUT', '/v1/jobs?namespace=nope', { Job: job(`${r}-nsq`) });
      await ctx.step('unknown namespace and no groups', 'PUT', '/v1/jobs', { Job: job(`${r}-nsg`, { namespace: 'nope', noGroups: true }) });
      await ctx.step('nothing registered', 'GET', `/v1/jobs?prefix=${r}-`, undefined, { values: (j) => j });
    },
  },
  {
    name: 'service job',
    async run(ctx) {
      const id = `${ctx.run}-svc`;
      await ctx.step('register', 'PUT', '/v1/jobs', { Job: job(id) }, { values: (j) => ({ Warnings: j.Warnings }) });
      await ctx.step('read', 'GET', `/v1/job/${id}`, undefined, {
        values: (j) => ({ Type: j.Type, Update: updateBlock(j.Update), GroupUpdate: updateBlock(j.TaskGroups?.[0]?.Update), Version: j.Version, Stop: j.Stop }),
      });
      const alloc = await runningAlloc(ctx, id);
      // Compare settled answers: wait for the deployment health (MinHealthyTime 10 s on Nomad).
      await ctx.waitFor(`a healthy allocation of ${id}`, async () =>
        ((await ctx.send('GET', `/v1/allocation/${alloc.ID}`)).json as { DeploymentStatus?: { Healthy?: boolean } | null })?.DeploymentStatus?.Healthy || undefined,
      );
      await ctx.step('allocations', 'GET', `/v1/job/${id}/allocations`, undefined, { values: (j) => statuses(j) });
      await ctx.step('read allocation', 'GET', `/v1/allocation/${alloc.ID}`, undefined, { values: (j) => ({ ClientStatus: j.ClientStatus, Tasks: Object.keys(j.TaskStates ?? {}) }) });
      await ctx.step('evaluations', 'GET', `/v1/job/${id}/evaluations`, undefined, { values: (j) => (j as { Status: string; TriggeredBy: string }[]).map((e) => `${e.TriggeredBy}/${e.Status}`).sort() });
      const evals = (await ctx.send('GET', `/v1/job/${id}/evaluations`)).json as { ID: string }[];
      await ctx.step('read evaluation', 'GET', `/v1/evaluation/${evals[0]?.ID ?? ZERO_UUID}`, undefined, { values: (j) => ({ Status: j.Status, TriggeredBy: j.TriggeredBy }) });
      await ctx.step('deregister', 'DELETE', `/v1/job/${id}`, undefined, { values: (j) => ({ EvalID: typeof j.EvalID }) });
      await allTerminal(ctx, id);
      await ctx.step('read stopped', 'GET', `/v1/job/${id}`, undefined, { values: (j) => ({ Stop: j.Stop, Status: j.Status, Version: j.Version }) });
      await ctx.step('allocations stopped', 'GET', `/v1/job/${id}/allocations`, undefined, { values: (j) => statuses(j) });
      await purge(ctx, id);
      await ctx.step('read purged', 'GET', `/v1/job/${id}`);
    },
  },
  {
    name: 'batch job',
    async run(ctx) {
      const id = `${ctx.run}-batch`;
      await ctx.step('register', 'PUT', '/v1/jobs', { Job: job(id, { type: 'batch' }) });
      await ctx.step('read', 'GET', `/v1/job/${id}`, undefined, {
        values: (j) => ({ Type: j.Type, Update: updateBlock(j.Update), GroupUpdate: updateBlock(j.TaskGroups?.[0]?.Update) }),
      });
      const alloc = await runningAlloc(ctx, id);
      await ctx.step('read allocation', 'GET', `/v1/allocation/${alloc.ID}`, undefined, { values: (j) => ({ ClientStatus: j.ClientStatus, DeploymentStatus: j.DeploymentStatus }) });
      await purge(ctx, id);
    },
  },
  {
    name: 'purge and re-register',
    async run(ctx) {
      const id = `${ctx.run}-again`;
      // Batch: no deployment health, so the answers do not depend on timing.
      await ctx.send('PUT', '/v1/jobs', { Job: job(id, { type: 'batch' }) });
      await runningAlloc(ctx, id);
      await ctx.step('purge', 'DELETE', `/v1/job/${id}?purge=true`);
      await ctx.step('allocations after purge', 'GET', `/v1/job/${id}/allocations`, undefined, { values: (j) => (j as Stub[]).length });
      await allTerminal(ctx, id, true);
      await ctx.step('allocations after purge, terminal', 'GET', `/v1/job/${id}/allocations`, undefined, { values: (j) => statuses(j) });
      await ctx.step('re-register', 'PUT', '/v1/jobs', { Job: job(id, { type: 'batch' }) });
      await runningAlloc(ctx, id);
      await ctx.step('read re-registered', 'GET', `/v1/job/${id}`, undefined, { values: (j) => ({ Version: j.Version }) });
      await ctx.step('allocations', 'GET', `/v1/job/${id}/allocations`, undefined, { values: (j) => statuses(j) });
      await ctx.step('allocations all=true', 'GET', `/v1/job/${id}/allocations?all=true`, undefined, { values: (j) => statuses(j) });
      await purge(ctx, id);
    },
  },
  {
    name: 'read by id',
    async run(ctx) {
      await ctx.step('allocation non-UUID', 'GET', '/v1/allocation/nope');
      await ctx.step('allocation unknown UUID', 'GET', `/v1/allocation/${ZERO_UUID}`);
      await ctx.step('evaluation non-UUID', 'GET', '/v1/evaluation/nope');
      await ctx.step('evaluation unknown UUID', 'GET', `/v1/evaluation/${ZERO_UUID}`);
    },
  },
  {
    name: 'blocking queries',
    async run(ctx) {
      await ctx.step('wait without unit', 'GET', '/v1/jobs?index=1&wait=2');
      await ctx.step('index not a number', 'GET', '/v1/jobs?index=abc');
      await ctx.step('wait with unit', 'GET', `/v1/jobs?index=1&wait=100ms&prefix=${ctx.run}-`, undefined, { values: (j) => j });
    },
  },
  {
    name: 'job list meta',
    async run(ctx) {
      const r = ctx.run;
      await ctx.send('PUT', '/v1/jobs', { Job: job(`${r}-lm-with`, { type: 'batch', meta: { knot_space_id: 'x' } }) });
      await ctx.send('PUT', '/v1/jobs', { Job: job(`${r}-lm-without`, { type: 'batch' }) });
      const metas = (j: unknown): unknown =>
        Object.fromEntries((j as { ID: string; Meta?: unknown }[]).map((s) => [s.ID.slice(r.length), 'Meta' in s ? s.Meta : '<absent>']).sort());
      await ctx.step('list meta=true', 'GET', `/v1/jobs?meta=true&prefix=${r}-lm-`, undefined, { values: metas });
      await ctx.step('list', 'GET', `/v1/jobs?prefix=${r}-lm-`, undefined, { values: metas });
      await purge(ctx, `${r}-lm-with`);
      await purge(ctx, `${r}-lm-without`);
    },
  },
  {
    name: 'placement',
    async run(ctx) {
      const id = `${ctx.run}-docker`;
      const reg = await ctx.step('register missing driver', 'PUT', '/v1/jobs', { Job: job(id, { tasks: [{ driver: 'docker' }] }) });
      const evalId = (reg.json as { EvalID?: string } | undefined)?.EvalID ?? ZERO_UUID;
      await ctx.waitFor('the register eval complete', async () => ((await ctx.send('GET', `/v1/evaluation/${evalId}`)).json as { Status?: string })?.Status === 'complete' || undefined);
      await ctx.step('register eval', 'GET', `/v1/evaluation/${evalId}`, undefined, {
        values: (j) => ({ Status: j.Status, ConstraintFiltered: j.FailedTGAllocs?.g?.ConstraintFiltered, blocked: Boolean(j.BlockedEval) }),
      });
      await ctx.step('read job', 'GET', `/v1/job/${id}`, undefined, { values: (j) => ({ Status: j.Status }) });
      await ctx.step('allocations', 'GET', `/v1/job/${id}/allocations`, undefined, { values: (j) => j });
      await ctx.send('DELETE', `/v1/job/${id}?purge=true`);
    },
  },
  {
    name: 'csi volumes',
    async run(ctx) {
      const id = `${ctx.run}-vol`;
      await ctx.step('create', 'PUT', `/v1/volume/csi/${id}/create`, { Volumes: [csiVolume(id)] }, {
        values: (j) => ({ n: j.Volumes?.length, Schedulable: j.Volumes?.[0]?.Schedulable, ReadAllocs: j.Volumes?.[0]?.ReadAllocs, MountFlags: j.Volumes?.[0]?.MountOptions?.MountFlags }),
      });
      await ctx.step('read', 'GET', `/v1/volume/csi/${id}`, undefined, { values: (j) => ({ Schedulable: j.Schedulable, Secrets: j.Secrets, ReadAllocs: j.ReadAllocs, WriteAllocs: j.WriteAllocs }) });
      await ctx.step('list', 'GET', `/v1/volumes?type=csi&prefix=${id}`, undefined, { values: (j) => (j as { ID: string }[]).length });
      await ctx.step('list without type', 'GET', `/v1/volumes?prefix=${id}`, undefined, { values: (j) => j });
      await ctx.step('create missing plugin id', 'PUT', `/v1/volume/csi/${id}-x/create`, { Volumes: [{ ...csiVolume(`${id}-x`), PluginID: '' }] });
      await ctx.step('create unknown plugin', 'PUT', `/v1/volume/csi/${id}-x/create`, { Volumes: [{ ...csiVolume(`${id}-x`), PluginID: 'nope' }] });
      await ctx.step('delete', 'DELETE', `/v1/volume/csi/${id}/delete`);
      await ctx.step('read deleted', 'GET', `/v1/volume/csi/${id}`);
      await ctx.step('delete unknown', 'DELETE', `/v1/volume/csi/${id}/delete`);
      await ctx.step('deregister unknown', 'DELETE', `/v1/volume/csi/${id}`);
    },
  },
  {
    name: 'csi delete while claimed',
    async run(ctx) {
      const id = `${ctx.run}-claimed`;
      const jobId = `${ctx.run}-claimer`;
      const created = await ctx.send('PUT', `/v1/volume/csi/${id}/create`, { Volumes: [csiVolume(id)] });
      const externalId = String((created.json as { Volumes?: { ExternalID?: string }[] } | undefined)?.Volumes?.[0]?.ExternalID ?? '');
      await ctx.send('PUT', '/v1/jobs', { Job: job(jobId, { type: 'batch', csiVolume: id, tasks: [{ volume: 'home', command: 'date >> /home/marker; sleep 3600' }] }) });
      await runningAlloc(ctx, jobId);
      ctx.note('data before delete', await ctx.target.volumeDataExists({ ID: id, ExternalID: externalId }));
      const claims = (j: any): unknown => ({ writers: Object.keys(j?.WriteAllocs ?? {}).length, allocations: (j?.Allocations ?? []).length }); // eslint-disable-line @typescript-eslint/no-explicit-any
      await ctx.step('read claimed', 'GET', `/v1/volume/csi/${id}`, undefined, { values: claims });
      await ctx.step('delete claimed', 'DELETE', `/v1/volume/csi/${id}/delete`);
      ctx.note('data after delete', await ctx.target.volumeDataExists({ ID: id, ExternalID: externalId }));
      await ctx.step('read after delete', 'GET', `/v1/volume/csi/${id}`, undefined, { values: claims });
      await ctx.step('listed after delete', 'GET', `/v1/volumes?type=csi&prefix=${id}`, undefined, { values: (j) => (j as unknown[]).length });
      await ctx.step('allocations after delete', 'GET', `/v1/job/${jobId}/allocations`, undefined, { values: (j) => statuses(j) });
      await purge(ctx, jobId);
      await ctx.waitFor(`claims on ${id} released`, async () => {
        const v = (await ctx.send('GET', `/v1/volume/csi/${id}`)).json as { WriteAllocs?: object; ReadAllocs?: object } | undefined;
        return v && Object.keys(v.WriteAllocs ?? {}).length + Object.keys(v.ReadAllocs ?? {}).length === 0 ? true : undefined;
      });
      await ctx.send('DELETE', `/v1/volume/csi/${id}?force=true`);
    },
  },
  {
    name: 'csi volume with a raw_exec task',
    async run(ctx) {
      const id = `${ctx.run}-rawvol`;
      const jobId = `${ctx.run}-rawexec`;
      await ctx.send('PUT', `/v1/volume/csi/${id}/create`, { Volumes: [csiVolume(id)] });
      await ctx.send('PUT', '/v1/jobs', { Job: job(jobId, { type: 'batch', csiVolume: id, tasks: [{ driver: 'raw_exec', volume: 'home' }] }) });
      const failed = await ctx.waitFor(`an allocation of ${jobId} that failed`, async () => (await allocs(ctx, jobId)).find((a) => a.ClientStatus === 'failed'));
      await ctx.step('failed allocation', 'GET', `/v1/allocation/${failed.ID}`, undefined, {
        values: (j) => ({
          ClientStatus: j.ClientStatus,
          ClientDescription: j.ClientDescription,
          Events: Object.values((j.TaskStates ?? {}) as Record<string, { Events?: { Type: string; DisplayMessage: string }[] }>).flatMap((s) =>
            (s.Events ?? []).map((e) => `${e.Type}: ${e.DisplayMessage}`),
          ),
        }),
      });
      await purge(ctx, jobId);
      await ctx.waitFor(`claims on ${id} released`, async () => {
        const v = (await ctx.send('GET', `/v1/volume/csi/${id}`)).json as { WriteAllocs?: object; ReadAllocs?: object } | undefined;
        return v && Object.keys(v.WriteAllocs ?? {}).length + Object.keys(v.ReadAllocs ?? {}).length === 0 ? true : undefined;
      });
      await ctx.send('DELETE', `/v1/volume/csi/${id}/delete`);
    },
  },
  {
    name: 'host volumes',
    async run(ctx) {
      await ctx.step('list', 'GET', '/v1/volumes?type=host');
      await ctx.step('read', 'GET', `/v1/volume/host/${ZERO_UUID}`);
      await ctx.step('create', 'PUT', '/v1/volume/host/create', { Volume: { Name: `${ctx.run}-hv`, PluginID: 'mkdir' } });
      await ctx.step('delete', 'DELETE', `/v1/volume/host/${ZERO_UUID}/delete`);
    },
  },
];
