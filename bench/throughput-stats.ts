/**
 * Where a throughput run's Temporal work goes, read after the timed part so it costs the figures
 * nothing: the history of every operation of a sample of spaces (events, workflow tasks, activity
 * tasks, local-activity markers, timers, signals, search-attribute upserts per operation type), and
 * the dev server's own request counters (its /metrics endpoint) over the timed part.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { note } from './report';
import { median, round } from './stats';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

export interface HistoryCounts {
  events: number;
  workflowTasks: number;
  activityTasks: number;
  localActivities: number;
  /** `patched()` markers */
  patches: number;
  timers: number;
  signals: number;
  upserts: number;
}

export function countHistory(history: History): HistoryCounts {
  const c: HistoryCounts = { events: 0, workflowTasks: 0, activityTasks: 0, localActivities: 0, patches: 0, timers: 0, signals: 0, upserts: 0 };
  for (const e of history.events ?? []) {
    c.events++;
    if (e.workflowTaskScheduledEventAttributes) c.workflowTasks++;
    if (e.activityTaskScheduledEventAttributes) c.activityTasks++;
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') c.localActivities++;
    if (e.markerRecordedEventAttributes?.markerName === 'core_patch') c.patches++;
    if (e.timerStartedEventAttributes) c.timers++;
    if (e.workflowExecutionSignaledEventAttributes) c.signals++;
    if (e.upsertWorkflowSearchAttributesEventAttributes || e.workflowPropertiesModifiedEventAttributes) c.upserts++;
  }
  return c;
}

/** The order in which the throughput loop runs one space's operations. */
const OPERATION_ORDER = ['create', 'start', 'stop', 'start_updated', 'stop', 'delete'];

/**
 * Every run of `space-<id>` for the given spaces, oldest first, labelled by its place in the
 * throughput loop; per label the median of each count. A space whose loop stopped early is skipped.
 */
export async function historyCountsByOperation(client: Client, spaceIds: string[]): Promise<Record<string, HistoryCounts & { runs: number }>> {
  const byLabel = new Map<string, HistoryCounts[]>();
  for (const spaceId of spaceIds) {
    const workflowId = `space-${spaceId}`;
    const runs: { runId: string; startMs: number }[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push({ runId: w.runId, startMs: w.startTime.getTime() });
    if (runs.length !== OPERATION_ORDER.length) continue;
    runs.sort((a, b) => a.startMs - b.startMs);
    for (const [i, r] of runs.entries()) {
      const counts = countHistory(await client.workflow.getHandle(workflowId, r.runId).fetchHistory());
      const label = OPERATION_ORDER[i]!;
      byLabel.set(label, [...(byLabel.get(label) ?? []), counts]);
    }
  }
  const out: Record<string, HistoryCounts & { runs: number }> = {};
  for (const [label, all] of byLabel) {
    const m = (k: keyof HistoryCounts) => median(all.map((c) => c[k]));
    out[label] = { runs: all.length, events: m('events'), workflowTasks: m('workflowTasks'), activityTasks: m('activityTasks'), localActivities: m('localActivities'), patches: m('patches'), timers: m('timers'), signals: m('signals'), upserts: m('upserts') };
  }
  return out;
}

/** The dev server's request counters by operation (`service_requests`, summed over services). */
export async function scrapeRequestCounts(metricsUrl: string | null): Promise<Map<string, number> | null> {
  if (!metricsUrl) return null;
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(service_requests|persistence_requests)\{.*operation="([^"]+)".*\} ([0-9.e+]+)$/.exec(line);
      if (!m) continue;
      const key = `${m[1] === 'persistence_requests' ? 'db:' : ''}${m[2]}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(m[3]));
    }
    return counts;
  } catch (e) {
    note(`metrics: ${(e as Error).message}`);
    return null;
  }
}

/** Requests per lifecycle operation between two scrapes, the largest first. */
export function requestsPerOperation(before: Map<string, number> | null, after: Map<string, number> | null, ops: number): string {
  if (!before || !after || ops === 0) return 'unavailable';
  const rows = [...after].map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / ops] as const).filter(([, v]) => v >= 0.05);
  rows.sort((a, b) => b[1] - a[1]);
  return rows.map(([k, v]) => `${k}=${round(v, 2)}`).join(' ');
}

/** User and system CPU seconds of a process so far (/proc/<pid>/stat); null off Linux. */
export function processCpuSplit(pid: number | undefined): { user: number; system: number } | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]) / 100, system: Number(rest[12]) / 100 };
  } catch {
    return null;
  }
}
