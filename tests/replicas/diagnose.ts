/**
 * What the replica tier knows about an operation that did not finish, printed when a wait for it
 * times out: the operation row and its steps, Temporal's describe of the space's workflow (status,
 * which operation its run carries, pending activities with attempts and last failure, the pending
 * workflow task), the last history events with the identity (pid@host) of the worker or client
 * that produced them, and the replicas' log lines that name the operation or its space.
 */
import type { Client } from '@temporalio/client';
import type { Store } from '../../store/store';
import type { KnotChild } from '../support/knot-child';

export interface DiagnoseContext {
  store: Store;
  temporal: Client;
  /** the replicas by name (`api0`, `worker1`, ...) with their current pid and recent output */
  processes: Record<string, KnotChild>;
  /** history events to print, newest last */
  lastEvents?: number;
}

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : '-');

/** Timestamp of a Temporal proto time ({ seconds, nanos }) or a Date. */
function protoTime(t: unknown): string {
  if (!t) return '-';
  if (t instanceof Date) return t.toISOString();
  const { seconds, nanos } = t as { seconds?: number | { toNumber(): number }; nanos?: number };
  const s = typeof seconds === 'object' && seconds ? seconds.toNumber() : Number(seconds ?? 0);
  return new Date(s * 1000 + Math.floor((nanos ?? 0) / 1e6)).toISOString();
}

/** Attributes as compact JSON: Longs as numbers, payloads decoded, encodings and build ids left out. */
function short(v: unknown, max = 300): string {
  const s = JSON.stringify(v, (k, x: unknown) => {
    if (k === 'metadata' || k === 'workerVersion' || k === 'sdkMetadata' || k === 'requestId' || k === 'completionCallbacks' || k === 'header') return undefined;
    if (x instanceof Uint8Array) return Buffer.from(x).toString('utf8').slice(0, 160);
    if (k === 'data' && typeof x === 'string') return Buffer.from(x, 'base64').toString('utf8').slice(0, 160);
    if (x && typeof x === 'object' && 'low' in x && 'high' in x) return (x as { toNumber?: () => number }).toNumber?.() ?? (x as { low: number }).low;
    return x;
  });
  return s && s.length > max ? `${s.slice(0, max)}…` : (s ?? '');
}

/** One line per history event: id, time, type (the attributes' name), identity, the attributes abridged. */
function eventLine(e: Record<string, unknown>): string {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k]);
  const attrs = (key ? e[key] : {}) as Record<string, unknown>;
  const { identity, ...rest } = attrs;
  return `#${String(e.eventId)} ${protoTime(e.eventTime)} ${key?.replace(/EventAttributes$/, '') ?? '?'}${identity ? ` by ${String(identity)}` : ''} ${short(rest)}`;
}

/** The text report; never throws (what could not be read says so). */
export async function diagnoseOperation(ctx: DiagnoseContext, operationId: string): Promise<string> {
  const lines: string[] = [`--- diagnosis of operation ${operationId} at ${new Date().toISOString()}`];
  const pids = Object.entries(ctx.processes).map(([name, p]) => `${name}=pid ${p.pid ?? '-'}${p.alive ? '' : ' (dead)'} starts=${p.starts}`);
  lines.push(`processes: ${pids.join(', ')}`);
  const op = await ctx.store.operations.get(operationId).catch((e: Error) => (lines.push(`operation row: unreadable (${e.message})`), null));
  if (!op) {
    lines.push('operation row: none');
    return lines.join('\n');
  }
  lines.push(
    `operation: ${op.type} of space ${op.spaceId} status=${op.status} runId=${op.runId ?? '-'} created=${iso(op.createdAt)} started=${iso(op.startedAt)} finished=${iso(op.finishedAt)} error=${op.errorType ?? '-'} ${op.errorMessage ?? ''}`,
  );
  const steps = await ctx.store.steps.list(operationId).catch(() => []);
  lines.push(`steps: ${steps.map((s) => `${s.name}=${s.outcome}@${iso(s.startedAt)}`).join(', ') || 'none'}`);
  const space = await ctx.store.spaces.get(op.spaceId).catch(() => null);
  lines.push(`space: phase=${space?.phase ?? '-'} jobId=${space?.nomadJobId ?? '-'}`);
  const others = await ctx.store.operations.listOfSpace(op.spaceId, 5).catch(() => []);
  lines.push(`newest operations of the space: ${others.map((o) => `${o.type} ${o.id} ${o.status} created=${iso(o.createdAt)}`).join('; ')}`);

  try {
    const handle = ctx.temporal.workflow.getHandle(op.workflowId, op.runId || undefined);
    const d = await handle.describe();
    const memo = (d.memo ?? {}) as { operationId?: string };
    lines.push(`workflow ${op.workflowId} run ${d.runId}: ${d.type} ${d.status.name}, carries operation ${memo.operationId ?? '-'}${memo.operationId === op.id ? '' : ' (NOT this operation: no run of it was found)'}, started ${iso(d.startTime.getTime())}, history length ${d.historyLength}`);
    const raw = d.raw;
    for (const a of raw.pendingActivities ?? []) {
      lines.push(
        `  pending activity ${a.activityId} ${a.activityType?.name ?? '?'} state=${String(a.state)} attempt=${a.attempt} lastWorker=${a.lastWorkerIdentity ?? '-'} lastStarted=${protoTime(a.lastStartedTime)} lastHeartbeat=${protoTime(a.lastHeartbeatTime)} lastFailure=${a.lastFailure?.message ?? '-'}`,
      );
    }
    const wt = raw.pendingWorkflowTask;
    if (wt) lines.push(`  pending workflow task: state=${String(wt.state)} attempt=${wt.attempt} scheduled=${protoTime(wt.scheduledTime)} started=${protoTime(wt.startedTime)}`);
    const history = await handle.fetchHistory();
    const events = (history.events ?? []) as unknown as Record<string, unknown>[];
    lines.push(`  last ${Math.min(events.length, ctx.lastEvents ?? 15)} of ${events.length} history events:`);
    for (const e of events.slice(-(ctx.lastEvents ?? 15))) lines.push(`    ${eventLine(e)}`);
  } catch (e) {
    lines.push(`workflow ${op.workflowId}: ${(e as Error).name}: ${(e as Error).message}`);
  }

  // the replicas' own words about it (their last few KB of output)
  for (const [name, p] of Object.entries(ctx.processes)) {
    const mine = p
      .output()
      .split('\n')
      .filter((l) => l.includes(op.id) || l.includes(op.spaceId));
    if (mine.length) lines.push(`${name} log:\n    ${mine.slice(-8).map((l) => l.slice(0, 400)).join('\n    ')}`);
  }
  return lines.join('\n');
}
