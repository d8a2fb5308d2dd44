/** How the UI writes phases, durations and times. */
import type { Space } from './api';

export const PHASE_LABEL: Record<string, string> = {
  stopped: 'Stopped',
  starting: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  deleting: 'Deleting',
  failed: 'Failed',
};

export function phaseLabel(phase: string): string {
  return PHASE_LABEL[phase] ?? phase;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function uptime(space: Space, now: number): string {
  if (space.status.phase !== 'running' || !space.status.startedAt) return '—';
  const ms = now - Date.parse(space.status.startedAt);
  // whole seconds: an uptime in milliseconds reads like a glitch
  return ms < 1000 ? '0s' : duration(ms);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** "CreateFailed:template_parse" → a readable reason. */
export function reasonText(space: Space): string {
  const r = space.status.reason;
  const m = space.status.message;
  if (!r && !m) return '';
  return m ? `${r ? `${r}: ` : ''}${m}` : r;
}
