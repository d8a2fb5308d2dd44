/** The one machine-readable line each benchmark prints, plus the load context it ran under. */
import os from 'node:os';
import { round } from './stats';

export type BenchFields = Record<string, string | number | boolean>;

function fieldValue(v: string | number | boolean): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NaN';
  const s = String(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** `BENCH <name> k=v k=v ...` on stdout. */
export function benchLine(name: string, fields: BenchFields): string {
  const line = [`BENCH ${name}`, ...Object.entries(fields).map(([k, v]) => `${k}=${fieldValue(v)}`)].join(' ');
  console.log(line);
  return line;
}

/** Human-readable progress on stderr, so stdout stays the summary lines. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export interface LoadContext {
  cpus: number;
  loadavg1: number;
  loadavg5: number;
  at: string;
}

export function loadContext(): LoadContext {
  const [l1 = 0, l5 = 0] = os.loadavg();
  return { cpus: os.cpus().length, loadavg1: Math.round(l1 * 100) / 100, loadavg5: Math.round(l5 * 100) / 100, at: new Date().toISOString() };
}

export function loadFields(prefix: string, ctx: LoadContext): BenchFields {
  return { [`${prefix}_load1`]: ctx.loadavg1, [`${prefix}_load5`]: ctx.loadavg5 };
}

/** Where a figure was measured: the store, Temporal's persistence, and the load before and after. */
export function contextFields(temporalDb: string, before: LoadContext, after: LoadContext, store = 'sqlite'): BenchFields {
  return { store, temporal_db: temporalDb, ...loadFields('before', before), ...loadFields('after', after) };
}

interface AutoStopRun {
  ms: number;
  result: { scanned: number; stopped: number; skipped: number; failed: number };
}

/** The auto-stop sweep's figures: a first pass (stops started) and a rescan (nothing due: the scan alone). */
export function autoStopFields(first: AutoStopRun, rescan: AutoStopRun): BenchFields {
  return {
    auto_stop_ms: round(first.ms),
    auto_stop_scanned: first.result.scanned,
    auto_stop_stopped: first.result.stopped,
    auto_stop_failed: first.result.failed,
    auto_stop_rescan_ms: round(rescan.ms),
    auto_stop_rescan_skipped: rescan.result.skipped,
  };
}
