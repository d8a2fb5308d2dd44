/**
 * What the agent reports to the server (link/protocol.ts AgentStateReport) and who listens: each
 * open state stream gets the whole report now and again on every change. User activity changes
 * constantly while someone types, so its reports are coalesced to one per `activityReportMs`.
 */
import type { AgentServices } from '../core/agent-status';
import type { AgentStateReport } from '../link/protocol';

export const ACTIVITY_REPORT_MS = 5_000;
/**
 * Session counts change with every proxied HTTP request (each is a tunnel): the first change after
 * a quiet second goes out at once, the rest of that second's changes in one report at its end.
 */
export const SESSIONS_REPORT_MS = 1_000;

type Listener = (report: AgentStateReport) => void;

export class AgentState {
  private services: AgentServices = {};
  private sessions = 0;
  private lastActivity: number | null = null;
  private readonly listeners = new Set<Listener>();
  /** when a report last went out because of activity */
  private activityReportedAt = -Infinity;
  private activityTimer: NodeJS.Timeout | null = null;
  private sessionsReportedAt = -Infinity;
  private sessionsTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly version: string,
    private readonly opts: { activityReportMs?: number; sessionsReportMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  report(): AgentStateReport {
    return { version: this.version, services: { ...this.services }, sessions: this.sessions, lastActivity: this.lastActivity };
  }

  /** Calls `listener` with every report from now on; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setServices(services: AgentServices): void {
    if (JSON.stringify(services) === JSON.stringify(this.services)) return;
    this.services = services;
    this.emit();
  }

  setSessions(count: number): void {
    if (count === this.sessions) return;
    this.sessions = count;
    if (this.sessionsTimer) return; // a report carrying the newest count is already due
    const wait = this.sessionsReportedAt + (this.opts.sessionsReportMs ?? SESSIONS_REPORT_MS) - this.now();
    if (wait <= 0) {
      this.sessionsReportedAt = this.now();
      this.emit();
      return;
    }
    this.sessionsTimer = setTimeout(() => {
      this.sessionsTimer = null;
      this.sessionsReportedAt = this.now();
      this.emit();
    }, wait);
    this.sessionsTimer.unref();
  }

  /** The user did something (typed in a terminal). */
  touch(): void {
    this.lastActivity = this.now();
    if (this.activityTimer) return; // a report carrying the newest time is already due
    const wait = this.activityReportedAt + (this.opts.activityReportMs ?? ACTIVITY_REPORT_MS) - this.now();
    if (wait <= 0) {
      this.activityReportedAt = this.now();
      this.emit();
      return;
    }
    this.activityTimer = setTimeout(() => {
      this.activityTimer = null;
      this.activityReportedAt = this.now();
      this.emit();
    }, wait);
    this.activityTimer.unref();
  }

  close(): void {
    if (this.activityTimer) clearTimeout(this.activityTimer);
    this.activityTimer = null;
    if (this.sessionsTimer) clearTimeout(this.sessionsTimer);
    this.sessionsTimer = null;
    this.listeners.clear();
  }

  private emit(): void {
    const r = this.report();
    for (const l of [...this.listeners]) l(r);
  }
}
