/**
 * Prometheus metrics (prom-client), one registry per process part that serves them. Every label
 * has a bounded set of values: operation types and outcomes, activity names, route *patterns*
 * (`/api/v1/spaces/:id`, `/v1/job/:id`), HTTP status codes, sweep names — never a space id, a
 * user or a token.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OPERATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export class KnotMetrics {
  readonly registry: Registry;
  readonly operationsStarted: Counter<'type'>;
  readonly operationsFinished: Counter<'type' | 'outcome'>;
  readonly operationDuration: Histogram<'type' | 'outcome'>;
  readonly activityDuration: Histogram<'activity' | 'outcome'>;
  readonly nomadRequests: Counter<'method' | 'route' | 'status'>;
  readonly nomadRequestDuration: Histogram<'method' | 'route'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpRequestDuration: Histogram<'method' | 'route'>;
  readonly eventStreamClients: Gauge;
  readonly agentLinks: Gauge;
  readonly terminalStreams: Gauge;
  readonly sweepRuns: Counter<'sweep' | 'outcome'>;
  readonly sweepItems: Counter<'sweep' | 'result'>;

  constructor(opts: { registry?: Registry; processMetrics?: boolean } = {}) {
    const registers = [(this.registry = opts.registry ?? new Registry())];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'knot_' });
    this.agentLinks = new Gauge({ name: 'knot_agent_links', help: 'Agent links this API process holds', registers });
    this.terminalStreams = new Gauge({ name: 'knot_terminal_streams', help: 'Browser and CLI terminals this API process relays', registers });
    this.operationsStarted = new Counter({ name: 'knot_operations_started_total', help: 'Space operations whose workflow began, by type', labelNames: ['type'], registers });
    this.operationsFinished = new Counter({
      name: 'knot_operations_finished_total',
      help: 'Space operations finished, by type and outcome (succeeded, failed, cancelled)',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.operationDuration = new Histogram({
      name: 'knot_operation_duration_seconds',
      help: 'From the workflow beginning an operation to its end, by type and outcome',
      labelNames: ['type', 'outcome'],
      buckets: OPERATION_BUCKETS,
      registers,
    });
    this.activityDuration = new Histogram({
      name: 'knot_step_duration_seconds',
      help: 'One attempt of a workflow step (a Temporal activity), by activity name and outcome (ok, error)',
      labelNames: ['activity', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.nomadRequests = new Counter({
      name: 'knot_nomad_requests_total',
      help: 'Nomad API calls by method, route pattern and HTTP status (0: no answer)',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.nomadRequestDuration = new Histogram({
      name: 'knot_nomad_request_duration_seconds',
      help: 'Nomad API call latency by method and route pattern (blocking queries included)',
      labelNames: ['method', 'route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'knot_http_requests_total',
      help: 'API requests by method, route pattern (unmatched for no route) and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpRequestDuration = new Histogram({
      name: 'knot_http_request_duration_seconds',
      help: 'API request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.eventStreamClients = new Gauge({ name: 'knot_event_stream_clients', help: 'Clients connected to the event stream (GET /api/v1/events)', registers });
    this.sweepRuns = new Counter({ name: 'knot_sweep_runs_total', help: 'Sweep activity runs by sweep and outcome (ok, error)', labelNames: ['sweep', 'outcome'], registers });
    this.sweepItems = new Counter({
      name: 'knot_sweep_items_total',
      help: 'What the sweeps did, by sweep and result (e.g. stopped, deregistered, deleted, failed)',
      labelNames: ['sweep', 'result'],
      registers,
    });
  }

  /** For the event stream: call when a client connects; call the returned function once when it leaves. */
  eventStreamClientConnected(): () => void {
    this.eventStreamClients.inc();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.eventStreamClients.dec();
    };
  }

  /** A Nomad client's `onResponse` hook: `route` is already a pattern (`/v1/job/:id`). */
  readonly recordNomadCall = (call: { method: string; route: string; status: number; durationMs: number }): void => {
    this.nomadRequests.inc({ method: call.method, route: call.route, status: String(call.status) });
    this.nomadRequestDuration.observe({ method: call.method, route: call.route }, call.durationMs / 1000);
  };

  /** The text exposition format, for GET /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Operation outcome label values (the store's terminal statuses). */
export type OperationOutcome = 'succeeded' | 'failed' | 'cancelled';
