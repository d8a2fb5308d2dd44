/**
 * "Nothing ran twice" across replicas, read from three witnesses that do not share code with the
 * product's bookkeeping: Temporal's visibility (one workflow execution per operation, by the
 * operation id the run carries in its memo), the store's event log (one `operation.finished` per
 * operation) and steps (each step of an operation recorded once), and the Nomad calls the recording
 * proxy saw (job registrations only inside an operation of that space that registers, from its
 * recording until its run closed).
 */
import type { Client } from '@temporalio/client';
import { ErrorType } from '../../core/errors';
import type { Operation } from '../../store/model';
import type { Store } from '../../store/store';
import type { RecordedCall } from '../support/nomad-recorder';
import { SearchAttributes } from '../../temporal/names';
import { until } from '../support/wait';

export interface DuplicateReport {
  operations: number;
  /** operations failed as `operation_not_started` (their API died before starting the workflow) */
  neverStarted: number;
  executions: number;
  registrations: number;
  /** how many operations registered their space's job once, twice, ... (a retry after a killed worker registers again) */
  registrationsPerOperation: Record<number, number>;
  violations: string[];
}

/** Every operation of these spaces, from the store. */
export async function operationsOf(store: Store, spaceIds: readonly string[]): Promise<Operation[]> {
  return (await Promise.all(spaceIds.map((id) => store.operations.listOfSpace(id, 100_000)))).flat();
}

/** Operation types whose run registers the space's job (a start, a restart, an update of a running space). */
const REGISTERS = new Set(['start', 'restart', 'update']);

export async function checkNoDuplicates(
  store: Store,
  temporal: Client,
  spaceIds: readonly string[],
  registrations: readonly RecordedCall[],
  opts: { visibilityTimeoutMs?: number } = {},
): Promise<DuplicateReport> {
  const violations: string[] = [];
  const all = await operationsOf(store, spaceIds);
  // recorded by an API that died before starting their workflow, failed by the next request on the
  // space (temporal/lifecycle-client.ts neverStarted): they must have no run; the rest one each
  const neverStarted = all.filter((o) => o.errorType === ErrorType.OperationNotStarted);
  const ops = all.filter((o) => o.errorType !== ErrorType.OperationNotStarted);
  const byId = new Map(all.map((o) => [o.id, o]));
  if (byId.size !== all.length) violations.push(`${all.length - byId.size} operation ids are recorded twice`);
  const scope = new Set(spaceIds);

  // Temporal: one execution per operation (visibility is eventually consistent: wait for all)
  let runs: { workflowId: string; runId: string; operationId: string | null; type: string; status: string; startTime: Date; closeTime: Date | undefined }[] = [];
  await until(
    `Temporal visibility to list the runs of ${ops.length} operations`,
    async () => {
      runs = [];
      for await (const w of temporal.workflow.list({ query: `${SearchAttributes.operation.name} IS NOT NULL` })) {
        const space = w.workflowId.replace(/^space-/, '');
        if (!scope.has(space)) continue;
        runs.push({ workflowId: w.workflowId, runId: w.runId, operationId: ((w.memo ?? {}) as { operationId?: string }).operationId ?? null, type: w.type, status: w.status.name, startTime: w.startTime, closeTime: w.closeTime });
      }
      const seen = new Set(runs.map((r) => r.operationId));
      // operations whose start failed have no run: their row is deleted, or failed as never started
      return ops.every((o) => seen.has(o.id));
    },
    opts.visibilityTimeoutMs ?? 30_000,
    500,
  ).catch((e: Error) => violations.push(`${e.message}: ${ops.filter((o) => !runs.some((r) => r.operationId === o.id)).map((o) => `${o.type} ${o.id} (${o.status})`).join(', ')}`));
  const runsPerOp = new Map<string, number>();
  for (const r of runs) {
    if (!r.operationId || !byId.has(r.operationId)) violations.push(`workflow run ${r.workflowId}/${r.runId} belongs to no recorded operation (${r.operationId})`);
    else runsPerOp.set(r.operationId, (runsPerOp.get(r.operationId) ?? 0) + 1);
  }
  for (const [id, n] of runsPerOp) if (n > 1) violations.push(`operation ${id} (${byId.get(id)!.type}) ran ${n} times`);
  for (const o of neverStarted) if (runsPerOp.has(o.id)) violations.push(`operation ${o.id} (${o.type}) was failed as never started but has a run`);

  // the event log: each operation finished once
  const finishedEvents = new Map<string, number>();
  for (const e of await store.events.after(0, { limit: 1_000_000 })) {
    if (e.event.type === 'operation.finished' && e.event.operationId && byId.has(e.event.operationId)) {
      finishedEvents.set(e.event.operationId, (finishedEvents.get(e.event.operationId) ?? 0) + 1);
    }
  }
  for (const o of ops) {
    const n = finishedEvents.get(o.id) ?? 0;
    if (n !== 1) violations.push(`operation ${o.id} (${o.type}, ${o.status}) has ${n} operation.finished events`);
    const names = (await store.steps.list(o.id)).map((s) => s.name);
    if (new Set(names).size !== names.length) violations.push(`operation ${o.id} (${o.type}) recorded a step twice: ${names.join(', ')}`);
  }

  // Nomad: a space's job is registered only while an operation of it that registers runs, and each
  // such operation that succeeded registered it
  const windows = new Map<string, Operation[]>();
  for (const o of ops) if (REGISTERS.has(o.type)) windows.set(o.spaceId, [...(windows.get(o.spaceId) ?? []), o]);
  const mine = registrations.filter((r) => r.spaceId && scope.has(r.spaceId));
  // an operation's window ends when its run closes, which may be after its row was finished: local
  // activities run several steps inside one workflow task, finishing the row included, and when that
  // task is lost (its worker killed or starved past the task timeout) the next attempt runs them
  // again. No other operation of the space can start before the run closes (one workflow id).
  const closedAt = new Map(runs.filter((r) => r.operationId).map((r) => [r.operationId!, r.closeTime?.getTime() ?? Infinity]));
  const end = (o: Operation) => Math.max(o.finishedAt ?? Infinity, closedAt.get(o.id) ?? 0);
  for (const r of mine) {
    const inside = (windows.get(r.spaceId!) ?? []).some((o) => r.at >= o.createdAt && r.at <= end(o));
    if (!inside) {
      // what the space went through around it, to tell a late retry from a registration out of nowhere
      const iso = (t: number | null) => (t ? new Date(t).toISOString() : '-');
      const around = all
        .filter((o) => o.spaceId === r.spaceId)
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((o) => `${o.type} ${o.id} ${o.status}${o.errorType ? `/${o.errorType}` : ''} ${iso(o.createdAt)}..${iso(o.finishedAt)}`);
      const calls = registrations.filter((x) => x.spaceId === r.spaceId).map((x) => `${iso(x.at)}→${iso(x.doneAt)} ${x.status}`);
      const itsRuns = runs
        .filter((x) => x.workflowId === `space-${r.spaceId}`)
        .sort((a, b) => a.startTime.getTime() - b.startTime.getTime())
        .map((x) => `${x.type} ${x.status} op=${x.operationId} ${x.startTime.toISOString()}..${x.closeTime?.toISOString() ?? '-'}`);
      violations.push(
        `job ${r.jobId} of space ${r.spaceId} was registered at ${iso(r.at)} (answered ${iso(r.doneAt)}) outside any start/restart/update of it; its operations: ${around.join('; ')}; its registrations: ${calls.join(', ')}; its runs: ${itsRuns.join('; ')}`,
      );
    }
  }
  const registrationsPerOperation: Record<number, number> = {};
  for (const o of ops) {
    if (!REGISTERS.has(o.type)) continue;
    const n = mine.filter((r) => r.spaceId === o.spaceId && r.at >= o.createdAt && r.at <= end(o)).length;
    registrationsPerOperation[n] = (registrationsPerOperation[n] ?? 0) + 1;
    if (n === 0 && o.status === 'succeeded' && o.type !== 'update') violations.push(`${o.type} ${o.id} of space ${o.spaceId} succeeded without registering its job`);
  }
  return { operations: ops.length, neverStarted: neverStarted.length, executions: runs.length, registrations: mine.length, registrationsPerOperation, violations };
}
