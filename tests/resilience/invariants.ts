/**
 * What must hold after any storm of faults, checked against the store and the sandbox's state:
 * - every operation is terminal (succeeded, failed, cancelled);
 * - every live space's phase matches Nomad: running ⇔ its job exists and an allocation is up;
 *   stopped ⇔ no job of the space exists; no space is left in a transitional phase;
 * - no job and no volume without a live space (leaks);
 * - every space_volumes row of a live space exists in the sandbox (nothing the space had is lost);
 * - no duplicate volume (host volumes by name, space_volumes rows by volume id).
 */
import type { Store } from '../../store/store';
import type { NomadClient } from '../../nomad/client';
import { spaceAllocationStatus } from '../../nomad/health';
import type { AllocListStub, Evaluation, Job } from '../../nomad/types';
import { KNOT_SPACE_META as SPACE_META } from '../../nomad/meta';

/** What the invariants read of Nomad: the sandbox's state, or the same read over a real agent's API. */
export interface NomadState {
  jobs: Pick<Job, 'ID' | 'Stop' | 'Meta' | 'Type' | 'Update' | 'TaskGroups' | 'Version'>[];
  allocations: AllocListStub[];
  evaluations: Evaluation[];
  csiVolumes: { ID: string }[];
  hostVolumes: { ID: string; Name: string }[];
}

/** The same view as the sandbox's state, read from any Nomad's HTTP API (the real-Nomad tier). */
export async function nomadStateOverApi(nomad: NomadClient): Promise<NomadState> {
  const stubs = await nomad.listJobs({ meta: true });
  const jobs: NomadState['jobs'] = [];
  const allocations: AllocListStub[] = [];
  const evaluations: Evaluation[] = [];
  for (const stub of stubs.filter((j) => j.Meta?.[SPACE_META])) {
    const job = await nomad.readJob(stub.ID);
    if (!job) continue;
    jobs.push(job);
    allocations.push(...(await nomad.jobAllocations(stub.ID, { all: true })));
    evaluations.push(...(await nomad.jobEvaluations(stub.ID)));
  }
  const [csi, host] = await Promise.all([nomad.listCsiVolumes(), nomad.listHostVolumes()]);
  return { jobs, allocations, evaluations, csiVolumes: csi, hostVolumes: host };
}

export interface InvariantReport {
  operations: Record<string, number>;
  spaces: Record<string, number>;
  jobs: number;
  volumes: number;
  violations: string[];
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Checks the spaces `spaceIds` (those a scenario made) and everything of theirs in Nomad, through the store interface (any driver). */
export async function checkInvariants(store: Store, state: NomadState, opts: { spaceIds: string[] }): Promise<InvariantReport> {
  const violations: string[] = [];
  const scope: Set<string> | null = new Set(opts.spaceIds);
  const inScope = (id: string) => scope.has(id);
  const ids = [...scope];

  const ops = (await Promise.all(ids.map((id) => store.operations.listOfSpace(id, 100_000)))).flat().map((o) => ({ id: o.id, space_id: o.spaceId, type: o.type, status: o.status }));
  const operations: Record<string, number> = {};
  for (const op of ops.filter((o) => inScope(o.space_id))) {
    operations[op.status] = (operations[op.status] ?? 0) + 1;
    if (!TERMINAL.has(op.status)) violations.push(`operation ${op.id} (${op.type} of ${op.space_id}) is still ${op.status}`);
  }

  const spaceRows = (await Promise.all(ids.map((id) => store.spaces.get(id))))
    .filter((x) => x !== null)
    .map((x) => ({ id: x.id, name: x.name, phase: x.phase as string, reason: x.reason, nomad_job_id: x.nomadJobId, deleted_at: x.deletedAt }));
  const rows = spaceRows.filter((s) => inScope(s.id));
  const live = new Map(rows.filter((s) => !s.deleted_at && s.phase !== 'deleted').map((s) => [s.id, s]));
  const spaces: Record<string, number> = {};
  for (const s of rows) {
    const phase = s.deleted_at ? 'deleted' : s.phase;
    spaces[phase] = (spaces[phase] ?? 0) + 1;
  }

  const jobs = state.jobs.filter((j) => !j.Stop);
  const jobsBySpace = new Map<string, typeof jobs>();
  for (const j of jobs) {
    const owner = j.Meta?.[SPACE_META];
    if (!owner) {
      if (!scope) violations.push(`job ${j.ID} has no ${SPACE_META}`);
      continue;
    }
    if (!inScope(owner)) continue;
    jobsBySpace.set(owner, [...(jobsBySpace.get(owner) ?? []), j]);
    if (!live.has(owner)) violations.push(`job ${j.ID} leaked: its space ${owner} is ${spaceRows.find((s) => s.id === owner)?.phase ?? 'unknown'}`);
  }

  for (const s of live.values()) {
    const own = jobsBySpace.get(s.id) ?? [];
    if (own.length > 1) violations.push(`space ${s.name} has ${own.length} jobs`);
    if (s.phase === 'running') {
      const job = own[0];
      if (!job) {
        violations.push(`space ${s.name} is running but has no job`);
        continue;
      }
      const status = spaceAllocationStatus(
        job,
        state.allocations.filter((a) => a.JobID === job.ID),
        state.evaluations.filter((e) => e.JobID === job.ID),
      );
      if (status.state !== 'up') violations.push(`space ${s.name} is running but its job ${job.ID} is ${status.state}`);
    } else if (s.phase === 'stopped') {
      if (own.length > 0) violations.push(`space ${s.name} is stopped but job ${own[0]!.ID} exists`);
    } else if (s.phase !== 'failed') {
      violations.push(`space ${s.name} is left ${s.phase}`);
    }
  }

  const volRows = [...(await store.volumes.listOfSpaces(ids)).values()].flat().map((v) => ({ space_id: v.spaceId, volume_id: v.volumeId, type: v.type, nomad_id: v.nomadId }));
  const seen = new Map<string, number>();
  for (const v of volRows) seen.set(v.volume_id, (seen.get(v.volume_id) ?? 0) + 1);
  for (const [id, n] of seen) if (n > 1) violations.push(`volume ${id} is recorded ${n} times`);
  const csiIds = new Set(state.csiVolumes.map((v) => v.ID));
  const hostByName = new Map<string, number>();
  for (const v of state.hostVolumes) hostByName.set(v.Name, (hostByName.get(v.Name) ?? 0) + 1);
  for (const [name, n] of hostByName) if (n > 1) violations.push(`host volume ${name} exists ${n} times`);

  const owned = new Set<string>();
  for (const v of volRows) {
    if (!inScope(v.space_id)) continue;
    owned.add(v.volume_id);
    if (v.nomad_id) owned.add(v.nomad_id);
    if (!live.has(v.space_id)) {
      violations.push(`volume row ${v.volume_id} belongs to space ${v.space_id}, which is not live`);
      continue;
    }
    const present = v.type === 'csi' ? csiIds.has(v.nomad_id ?? v.volume_id) : hostByName.has(v.volume_id);
    if (!present) violations.push(`space ${live.get(v.space_id)!.name} lost its volume ${v.volume_id}`);
  }
  const allOwned = new Set(volRows.flatMap((v) => [v.volume_id, v.nomad_id ?? v.volume_id]));
  for (const v of state.csiVolumes) {
    if (!allOwned.has(v.ID) && (!scope || [...scope].some((id) => v.ID.includes(id)))) violations.push(`csi volume ${v.ID} leaked (no space owns it)`);
  }
  for (const v of state.hostVolumes) {
    if (!allOwned.has(v.Name) && !allOwned.has(v.ID) && (!scope || [...scope].some((id) => v.Name.includes(id)))) violations.push(`host volume ${v.Name} leaked (no space owns it)`);
  }

  return { operations, spaces, jobs: jobs.length, volumes: state.csiVolumes.length + state.hostVolumes.length, violations };
}

export function summary(label: string, r: InvariantReport, extra: Record<string, unknown> = {}): string {
  const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(',') || '-';
  const more = Object.entries(extra).map(([k, v]) => ` ${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('');
  return `[resilience] ${label}: operations{${fmt(r.operations)}} spaces{${fmt(r.spaces)}} jobs=${r.jobs} volumes=${r.volumes} violations=${r.violations.length}${more}`;
}

/**
 * Per space, what a failed run needs to be explained: its row, its volume rows (who created them,
 * when) beside the space's CSI volumes in Nomad, and every operation oldest first with its steps,
 * times in ms since the space's first operation.
 */
export async function diagnose(store: Store, state: NomadState, spaceIds: string[]): Promise<string> {
  const lines: string[] = [];
  for (const id of spaceIds) {
    const space = await store.spaces.get(id);
    const ops = (await store.operations.listOfSpace(id, 1000)).reverse();
    const t0 = ops[0]?.createdAt ?? 0;
    const at = (t: number | null) => (t === null ? '-' : `+${t - t0}`);
    const rows = (await store.volumes.listOfSpaces([id])).get(id) ?? [];
    const inNomad = state.csiVolumes.filter((v) => v.ID.includes(id)).map((v) => v.ID);
    lines.push(`space ${space?.name ?? id} (${id}) phase=${space?.phase} reason=${space?.reason ?? '-'} job=${space?.nomadJobId ?? '-'}`);
    lines.push(`  rows=[${rows.map((r) => `${r.volumeId} by ${r.createdByOperation ?? '?'} at ${at(r.createdAt)}`).join(', ')}] csi=[${inNomad.join(', ')}]`);
    for (const op of ops) {
      lines.push(`  ${op.id} ${op.type} ${op.status} ${at(op.createdAt)}..${at(op.finishedAt)}${op.errorType ? ` ${op.errorType}: ${op.errorMessage ?? ''}` : ''}`);
      for (const st of await store.steps.list(op.id)) lines.push(`    ${st.seq}. ${st.name} ${st.outcome} ${at(st.startedAt)}..${at(st.finishedAt)}${st.message ? ` (${st.message})` : ''}`);
    }
  }
  return lines.join('\n');
}
