/**
 * The long-running processes: `knot server` (API), `knot worker`, and `knot dev` (Temporal dev
 * server + Nomad sandbox + worker + API in one, on embedded defaults). Each returns a `stop()` that
 * shuts its parts down in reverse order; `runUntilSignal` wires Ctrl-C to it.
 */
import { resolveSrv } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKey } from '../core/crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type Redis from 'ioredis';
import type { Client } from '@temporalio/client';
import type { KnotConfig } from '../core/config';
import { parseDurationMs, splitHostPort } from '../core/config';
import { resolveHost } from '../core/srv';
import { startApiServer, type ApiServer } from '../api/server';
import { bootstrapAdmin, type BootstrapResult } from '../api/auth';
import { connectClient, connectWorker, temporalReachable } from '../temporal/client';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { installRuntime } from '../worker/worker';
import { backendFromConfig } from '../worker/backend';
import { ensureSchedules } from '../worker/schedules';
import { ensureWebhookDispatcher } from '../temporal/webhook-client';
import { startSandbox, type Sandbox } from '../nomad/sandbox';
import { startDevAgents } from './dev-agents';
import type { Store } from '../store/store';
import { healthChecks, openStoreAndRedis } from './services';
import { KnotMetrics } from '../metrics/metrics';
import { startMetricsServer } from '../metrics/server';

export interface Running {
  stop(): Promise<void>;
}

type Stopper = { name: string; stop: () => Promise<unknown> };

/** Stops everything started so far, newest first, logging but not throwing. */
async function stopAll(stoppers: Stopper[], logger: Logger): Promise<void> {
  for (const s of [...stoppers].reverse()) {
    try {
      await s.stop();
    } catch (e) {
      logger.warn({ err: e, part: s.name }, 'error while stopping');
    }
  }
}

interface Parts {
  store: Store;
  redis: Redis | null;
  client: Client;
  stoppers: Stopper[];
}

async function openCommon(cfg: KnotConfig, logger: Logger, temporalAddress: string): Promise<Parts> {
  const stoppers: Stopper[] = [];
  try {
    const { store, redis } = await openStoreAndRedis(cfg, logger);
    if (redis) stoppers.push({ name: 'redis', stop: () => redis.quit() });
    stoppers.push({ name: 'store', stop: () => store.close() });
    logger.info({ store: store.describe() }, 'store open');
    const client = await connectClient({ address: temporalAddress, namespace: cfg.server.temporal.namespace });
    stoppers.push({ name: 'temporal client', stop: () => client.connection.close() });
    return { store, redis, client, stoppers };
  } catch (e) {
    await stopAll(stoppers, logger);
    throw e;
  }
}

/** One registry per process: `knot dev` hands the same one to the worker and the API. */
export interface ProcessOptions {
  temporalAddress: string;
  nomadAddr: string;
  metrics?: KnotMetrics;
}

export async function startApi(cfg: KnotConfig, logger: Logger, opts: ProcessOptions): Promise<Running & { url: string; bootstrap: BootstrapResult; store: string }> {
  const metrics = opts.metrics ?? new KnotMetrics({ processMetrics: true });
  const parts = await openCommon(cfg, logger, opts.temporalAddress);
  const { store, redis, client, stoppers } = parts;
  try {
    const bootstrap = await bootstrapAdmin(store, cfg, logger);
    const backend = backendFromConfig(cfg, { store, redis, client, nomadAddr: opts.nomadAddr, logger, metrics });
    // after the API has closed (stoppers run in reverse): its Nomad connections go last
    stoppers.push({ name: 'nomad client', stop: () => backend.deps.nomad.close() });
    const { host, port } = splitHostPort(cfg.server.listen, 3000);
    const api: ApiServer = await startApiServer(
      {
        store,
        config: cfg,
        logger,
        lifecycle: backend.lifecycle,
        nomad: backend.deps.nomad,
        metrics,
        health: { checks: healthChecks(store, () => temporalReachable(client), redis), store: store.kind },
        agentState: backend.agentState,
      },
      { host, port },
    );
    stoppers.push({ name: 'api', stop: () => api.close() });
    logger.info({ url: api.url }, 'API listening');
    return { url: api.url, bootstrap, store: store.describe(), stop: () => stopAll(stoppers, logger) };
  } catch (e) {
    await stopAll(stoppers, logger);
    throw e;
  }
}

/**
 * The worker; its metrics (steps, Nomad calls, sweeps, operations) go into `opts.metrics` when
 * given (`knot dev`: the API serves them), else into its own registry, served on
 * `server.metrics.worker_listen` when that is set.
 */
export async function startWorker(cfg: KnotConfig, logger: Logger, opts: ProcessOptions): Promise<Running> {
  installRuntime(logger);
  const stoppers: Stopper[] = [];
  const metrics = opts.metrics ?? new KnotMetrics({ processMetrics: true });
  try {
    if (!opts.metrics && cfg.server.metrics.enabled && cfg.server.metrics.worker_listen) {
      const served = await startMetricsServer(metrics, splitHostPort(cfg.server.metrics.worker_listen, 9464), cfg.server.metrics.token);
      stoppers.push({ name: 'worker metrics', stop: () => served.close() });
      logger.info({ url: served.url }, 'worker metrics listening');
    }
    const parts = await openCommon(cfg, logger, opts.temporalAddress);
    stoppers.push(...parts.stoppers);
    const { store, redis, client } = parts;
    const connection = await connectWorker({ address: opts.temporalAddress, namespace: cfg.server.temporal.namespace });
    stoppers.push({ name: 'worker connection', stop: () => connection.close() });
    const backend = backendFromConfig(cfg, { store, redis, client, nomadAddr: opts.nomadAddr, logger, metrics });
    // after the worker has drained its activities (stoppers run in reverse)
    stoppers.push({ name: 'nomad client', stop: () => backend.deps.nomad.close() });
    const { taskQueue } = backend;
    const { stop: stopWorker } = await backend.runWorker(
      {
        connection,
        namespace: cfg.server.temporal.namespace,
        logger,
        ...(cfg.server.temporal.workflow_bundle ? { workflowBundlePath: cfg.server.temporal.workflow_bundle } : {}),
      },
      (e: unknown) => logger.error({ err: e }, 'worker stopped with an error'),
    );
    stoppers.push({ name: 'worker', stop: stopWorker });
    const s = cfg.server.schedules;
    const schedules = await ensureSchedules(client, {
      taskQueue,
      enabled: s.enabled,
      autoStopInterval: s.auto_stop_interval,
      cleanupInterval: s.cleanup_interval,
      idleTimeout: s.idle_timeout,
      deletedRetention: s.deleted_retention,
      auditRetention: s.audit_retention,
      dormantWarning: s.dormant_warning,
    });
    await ensureWebhookDispatcher(client, taskQueue, { heartbeatTimeoutMs: parseDurationMs(cfg.server.webhooks.heartbeat_timeout) });
    logger.info({ taskQueue, schedules }, 'worker polling');
    return { stop: () => stopAll(stoppers, logger) };
  } catch (e) {
    await stopAll(stoppers, logger);
    throw e;
  }
}

export interface DevOptions {
  temporalPort?: number;
  nomadPort?: number;
  /** run each running space's agent as a local process (default true with the sandbox) */
  standInAgents?: boolean;
}

/** Everything on embedded defaults: dev server (DB file under data_dir), sandbox, worker, API. */
export async function startDev(cfg: KnotConfig, logger: Logger, opts: DevOptions = {}): Promise<Running & { banner: string }> {
  const stoppers: Stopper[] = [];
  try {
    mkdirSync(cfg.server.data_dir, { recursive: true });
    const keyNote = ensureDevEncryptKey(cfg);
    let temporalAddress = await resolveTemporalAddress(cfg.server.temporal.address);
    let uiUrl: string | null = null;
    if (!temporalAddress) {
      const dev: DevServer = await startDevServer({
        port: opts.temporalPort ?? 7233,
        uiPort: cfg.server.temporal.ui_port,
        namespace: cfg.server.temporal.namespace,
        dbFilename: path.resolve(cfg.server.data_dir, 'temporal.db'),
        toolsDir: cfg.server.tools_dir,
        log: (m) => logger.info(m),
      });
      stoppers.push({ name: 'temporal dev server', stop: () => dev.stop() });
      temporalAddress = dev.address;
      uiUrl = dev.uiUrl;
      logger.info({ address: temporalAddress, ui: uiUrl }, 'Temporal dev server ready');
    }
    let nomadAddr = cfg.server.nomad.addr;
    let standIns = false;
    if (!nomadAddr) {
      const sandbox: Sandbox = await startSandbox({ port: opts.nomadPort ?? 4646, logger: logger.child({ part: 'nomad-sandbox' }) });
      stoppers.push({ name: 'nomad sandbox', stop: () => sandbox.close() });
      nomadAddr = sandbox.url;
      if (opts.standInAgents !== false) {
        // the sandbox runs no containers: each running space's agent runs here instead
        const ownPorts = [splitHostPort(cfg.server.listen, 3000).port, Number(temporalAddress.split(':').pop()), cfg.server.temporal.ui_port, sandbox.port].filter((p) => Number.isInteger(p) && p > 0);
        const agents = startDevAgents({
          nomadAddr,
          namespace: cfg.server.nomad.namespace || 'default',
          dataDir: cfg.server.data_dir,
          cliPath: path.resolve(__dirname, 'main.js'),
          logger: logger.child({ part: 'stand-in-agents' }),
          hidePorts: () => ownPorts,
        });
        stoppers.push({ name: 'stand-in agents', stop: () => agents.stop() });
        standIns = true;
      }
    }
    const metrics = new KnotMetrics({ processMetrics: true });
    const worker = await startWorker(cfg, logger.child({ part: 'worker' }), { temporalAddress, nomadAddr, metrics });
    stoppers.push({ name: 'worker', stop: () => worker.stop() });
    const api = await startApi(cfg, logger.child({ part: 'api' }), { temporalAddress, nomadAddr, metrics });
    stoppers.push({ name: 'api', stop: () => api.stop() });

    const auth = api.bootstrap.generatedToken
      ? `Admin token (shown once, keep it): ${api.bootstrap.generatedToken}`
      : api.bootstrap.created
        ? 'Admin token: the value of KNOT_BOOTSTRAP_TOKEN / server.bootstrap_token'
        : `Admin token: the one printed at first start (or issue a new one: knot admin token --user admin)`;
    const banner = [
      '',
      'knot is running (embedded defaults)',
      `  Web UI, API   ${api.url}/   (OpenAPI: ${api.url}/api/v1/openapi.json, health: ${api.url}/health)`,
      `  Temporal UI   ${uiUrl ?? `external cluster at ${temporalAddress}`}`,
      `  Nomad         ${cfg.server.nomad.addr ? nomadAddr : `${nomadAddr}  (sandbox: simulated Nomad API, no workloads run)`}`,
      ...(standIns ? [`  Agents        each running space's agent runs as a local process of yours, home under ${path.resolve(cfg.server.data_dir, 'spaces')}/<id>/home`] : []),
      `  Store         ${api.store}`,
      `  Data          ${path.resolve(cfg.server.data_dir)}`,
      ...(keyNote ? [`  Secrets       ${keyNote}`] : []),
      `  ${auth}`,
      '                sign in with it in the Web UI (field "Token"), or as admin with server.bootstrap_password if set',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n');
    return { banner, stop: () => stopAll(stoppers, logger) };
  } catch (e) {
    await stopAll(stoppers, logger);
    throw e;
  }
}

/**
 * `knot dev` without `server.encrypt`: a key of its own, made once and kept (0600) in the data dir,
 * so protected variables, password parameters and the spaces' SSH host keys (derived from it) work
 * on the embedded defaults and stay the same across restarts. Returns what the banner says, or
 * null when the configuration names a key.
 */
export function ensureDevEncryptKey(cfg: KnotConfig): string | null {
  if (cfg.server.encrypt) return null;
  const file = path.resolve(cfg.server.data_dir, 'encrypt.key');
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!key) {
    key = generateKey();
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  cfg.server.encrypt = key;
  return `encryption key (server.encrypt) kept in ${file}; set KNOT_ENCRYPT to use your own`;
}

/** `srv+name` Temporal addresses are looked up by DNS SRV like every other host. */
export async function resolveTemporalAddress(address: string): Promise<string> {
  if (!address.startsWith('srv+')) return address;
  const { host, port } = await resolveHost(address, 7233, resolveSrv);
  return `${host}:${port}`;
}

/** Runs until SIGINT/SIGTERM, then stops cleanly; a second signal exits at once. */
export function runUntilSignal(running: Running, logger: Logger): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal: sig }, 'shutting down');
    running
      .stop()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export { loggerFor } from './log-output';
