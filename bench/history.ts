/**
 * Where a workflow's time goes, read from its Temporal history: per activity, the queue time
 * (scheduled → started: waiting for a worker slot / poll) and the run time (started → completed);
 * per workflow task, scheduled → completed (the server-worker round trip that decides the next
 * step). Event times are the Temporal server's clock.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { median } from './stats';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface ActivityTiming {
  name: string;
  queueMs: number;
  runMs: number;
  attempts: number;
}

export interface WorkflowBreakdown {
  /** WorkflowExecutionStarted → WorkflowExecutionCompleted/Failed */
  totalMs: number;
  startedAtMs: number;
  activities: ActivityTiming[];
  /** every workflow task, scheduled → completed */
  workflowTasksMs: number[];
  /** every workflow task, scheduled → started (server → worker poll) */
  workflowTaskQueueMs: number[];
  /** sum of activity queue + run time */
  activityMs: number;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number.NaN;
}

function timeMs(e: HistoryEvent): number {
  const t = e.eventTime;
  if (!t) return Number.NaN;
  return num(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;
}

export function breakdownOf(history: History): WorkflowBreakdown {
  const events = history.events ?? [];
  const scheduled = new Map<number, { name: string; at: number }>();
  const started = new Map<number, { at: number; attempt: number }>();
  const wftScheduled = new Map<number, number>();
  const workflowTaskQueueMs: number[] = [];
  const activities: ActivityTiming[] = [];
  const workflowTasksMs: number[] = [];
  let first = Number.NaN;
  let last = Number.NaN;
  for (const e of events) {
    const at = timeMs(e);
    const id = num(e.eventId);
    if (e.workflowExecutionStartedEventAttributes) first = at;
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) last = at;
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
    if (e.activityTaskStartedEventAttributes) started.set(num(e.activityTaskStartedEventAttributes.scheduledEventId), { at, attempt: e.activityTaskStartedEventAttributes.attempt ?? 1 });
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (done) {
      const sid = num(done.scheduledEventId);
      const s = scheduled.get(sid);
      const st = started.get(sid);
      if (s && st) activities.push({ name: s.name, queueMs: st.at - s.at, runMs: at - st.at, attempts: st.attempt });
    }
    if (e.workflowTaskScheduledEventAttributes) wftScheduled.set(id, at);
    if (e.workflowTaskStartedEventAttributes) {
      const s = wftScheduled.get(num(e.workflowTaskStartedEventAttributes.scheduledEventId));
      if (s !== undefined) workflowTaskQueueMs.push(at - s);
    }
    if (e.workflowTaskCompletedEventAttributes) {
      const s = wftScheduled.get(num(e.workflowTaskCompletedEventAttributes.scheduledEventId));
      if (s !== undefined) workflowTasksMs.push(at - s);
    }
  }
  return {
    totalMs: last - first,
    startedAtMs: first,
    activities,
    workflowTasksMs,
    workflowTaskQueueMs,
    activityMs: activities.reduce((a, t) => a + t.queueMs + t.runMs, 0),
  };
}

export async function fetchBreakdown(client: Client, workflowId: string, runId?: string): Promise<WorkflowBreakdown> {
  return breakdownOf(await client.workflow.getHandle(workflowId, runId).fetchHistory());
}

export interface BreakdownMedians {
  /** client: before startOperation → WorkflowExecutionStarted (operation row + StartWorkflowExecution) */
  preStartMs: number;
  totalMs: number;
  workflowTasks: number;
  workflowTaskSumMs: number;
  workflowTaskMs: number;
  /** median scheduled → started of one workflow task */
  workflowTaskQueueMs: number;
  activityQueueSumMs: number;
  /** per activity name (in first-seen order): median queue and run time */
  activities: { name: string; queueMs: number; runMs: number }[];
}

/** Medians over many runs of the same workflow type; `clientStartMs[i]` is run i's client start time. */
export function medianBreakdown(runs: WorkflowBreakdown[], clientStartMs: number[]): BreakdownMedians {
  const names: string[] = [];
  const queue = new Map<string, number[]>();
  const run = new Map<string, number[]>();
  for (const r of runs) {
    const perName = new Map<string, { q: number; r: number }>();
    for (const a of r.activities) {
      if (!names.includes(a.name)) names.push(a.name);
      const cur = perName.get(a.name) ?? { q: 0, r: 0 };
      perName.set(a.name, { q: cur.q + a.queueMs, r: cur.r + a.runMs });
    }
    for (const [n, v] of perName) {
      queue.set(n, [...(queue.get(n) ?? []), v.q]);
      run.set(n, [...(run.get(n) ?? []), v.r]);
    }
  }
  return {
    preStartMs: median(runs.map((r, i) => r.startedAtMs - (clientStartMs[i] ?? Number.NaN))),
    totalMs: median(runs.map((r) => r.totalMs)),
    workflowTasks: median(runs.map((r) => r.workflowTasksMs.length)),
    workflowTaskSumMs: median(runs.map((r) => r.workflowTasksMs.reduce((a, b) => a + b, 0))),
    workflowTaskMs: median(runs.flatMap((r) => r.workflowTasksMs)),
    workflowTaskQueueMs: median(runs.flatMap((r) => r.workflowTaskQueueMs)),
    activityQueueSumMs: median(runs.map((r) => r.activities.reduce((a, t) => a + t.queueMs, 0))),
    activities: names.map((n) => ({ name: n, queueMs: median(queue.get(n) ?? []), runMs: median(run.get(n) ?? []) })),
  };
}
