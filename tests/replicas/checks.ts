/**
 * "Nothing ran twice" across replicas, read from three witnesses that do not share code with the
 * product's bookkeeping: Temporal's visibility (one workflow execution per operation, by the
 * operation id the run carries in its memo), the store's event log (one `operation.finished` per
 * operation) and steps (each step of an operation recorded once), and the Nomad calls the recording
 * proxy saw (job registrations only inside an operation of that space that registers).
 */
import type { Client } from '@temporalio/client';
import type { Operation } from '../../store/model';
import type { Store } from '../../store/store';
import type { RecordedCall } from '../support/nomad-recorder';
import { SearchAttributes } from '../../temporal/names';
import { until } from '../support/wait';

export interface DuplicateReport {
  operations: number;
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
  const ops = await operationsOf(store, spaceIds);
  const byId = new Map(ops.map((o) => [o.id, o]));
  if (byId.size !== ops.length) violations.push(`${ops.length - byId.size} operation ids are recorded twice`);
  const scope = new Set(spaceIds);

  // Temporal: one execution per operation (visibility is eventually consistent: wait for all)
  let runs: { workflowId: string; runId: string; operationId: string | null }[] = [];
  await until(
    `Temporal visibility to list the runs of ${ops.length} operations`,
    async () => {
      runs = [];
      for await (const w of temporal.workflow.list({ query: `${SearchAttributes.operation.name} IS NOT NULL` })) {
        const space = w.workflowId.replace(/^space-/, '');
        if (!scope.has(space)) continue;
        runs.push({ workflowId: w.workflowId, runId: w.runId, operationId: ((w.memo ?? {}) as { operationId?: string }).operationId ?? null });
      }
      const seen = new Set(runs.map((r) => r.operationId));
      // operations without a run are those whose start failed (their row is deleted): none left here
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
  for (const r of mine) {
    const inside = (windows.get(r.spaceId!) ?? []).some((o) => r.at >= o.createdAt && r.at <= (o.finishedAt ?? Infinity));
    if (!inside) violations.push(`job ${r.jobId} of space ${r.spaceId} was registered at ${r.at} outside any start/restart/update of it`);
  }
  const registrationsPerOperation: Record<number, number> = {};
  for (const o of ops) {
    if (!REGISTERS.has(o.type)) continue;
    const n = mine.filter((r) => r.spaceId === o.spaceId && r.at >= o.createdAt && r.at <= (o.finishedAt ?? Infinity)).length;
    registrationsPerOperation[n] = (registrationsPerOperation[n] ?? 0) + 1;
    if (n === 0 && o.status === 'succeeded' && o.type !== 'update') violations.push(`${o.type} ${o.id} of space ${o.spaceId} succeeded without registering its job`);
  }
  return { operations: ops.length, executions: runs.length, registrations: mine.length, registrationsPerOperation, violations };
}
