/**
 * The worker process: registers the workflows and activities on the task queue, applies the
 * Schedules, and shuts down cleanly (in-flight activities finish or heartbeat-time-out elsewhere).
 */
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, Runtime, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities';

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** a pre-built bundle (tests, benchmarks); otherwise workflows are bundled from source at start */
  workflowBundlePath?: string;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  /** Worker identity shown in the Temporal UI */
  identity?: string;
  /** given: the workflows are bundled here, the bundler's webpack report at debug (see bundleWorkflows) */
  logger?: Logger;
}

let runtimeInstalled = false;

/** Route the Rust core's logs through pino once per process, at warn. */
export function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: {
        log: (level, message, meta) => logger[level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error']({ ...meta }, message),
        trace: (m, meta) => logger.trace({ ...meta }, m),
        debug: (m, meta) => logger.debug({ ...meta }, m),
        info: (m, meta) => logger.info({ ...meta }, m),
        warn: (m, meta) => logger.warn({ ...meta }, m),
        error: (m, meta) => logger.error({ ...meta }, m),
      },
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
    });
  } catch {
    // already installed by a test harness
  }
}

/**
 * The Rust core logs at ERROR only, on stderr, once per process: for the test harness and the
 * benchmarks, where expected retries (volume in use, injected 500s) would drown the output.
 */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

export function workflowSource(bundlePath?: string): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  if (bundlePath) return { workflowBundle: { codePath: bundlePath } };
  return { workflowsPath: require.resolve(path.join(__dirname, '..', 'workflows')) };
}

/**
 * Bundles the workflows from source as Worker.create would, but the bundler's info lines (the whole
 * webpack report, many lines long, and its "bundle created") go to debug: a person starting knot
 * needs one line saying it happened. Its warnings and errors stay what they are.
 */
export async function bundleWorkflows(logger: Logger): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(path.join(__dirname, '..', 'workflows')),
    logger: {
      log: (level, message, meta) => (level === 'WARN' ? logger.warn({ ...meta }, message) : level === 'ERROR' ? logger.error({ ...meta }, message) : logger.debug({ ...meta }, message)),
      trace: (m, meta) => logger.trace({ ...meta }, m),
      debug: (m, meta) => logger.debug({ ...meta }, m),
      info: (m, meta) => logger.debug({ ...meta }, m),
      warn: (m, meta) => logger.warn({ ...meta }, m),
      error: (m, meta) => logger.error({ ...meta }, m),
    },
  });
  logger.info({ ms: Date.now() - started, sizeKiB: Math.round(code.length / 1024) }, 'workflows bundled');
  return { workflowBundle: { code } };
}

export async function createKnotWorker(setup: WorkerSetup): Promise<Worker> {
  const workflows = !setup.workflowBundlePath && setup.logger ? await bundleWorkflows(setup.logger) : workflowSource(setup.workflowBundlePath);
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    activities: createActivities(setup.deps),
    ...workflows,
    maxConcurrentActivityTaskExecutions: setup.maxConcurrentActivities ?? 200,
    maxConcurrentWorkflowTaskExecutions: setup.maxConcurrentWorkflowTasks ?? 100,
    shutdownGraceTime: '10s',
    ...(setup.identity ? { identity: setup.identity } : {}),
  });
}

export interface RunningWorker {
  worker: Worker;
  /** Shuts the worker down (if still running) and waits until it has stopped. */
  stop(): Promise<void>;
}

/** Creates the worker and runs it; a run that ends with an error is reported to `onError`. */
export async function runKnotWorker(setup: WorkerSetup, onError: (e: unknown) => void = () => undefined): Promise<RunningWorker> {
  // the Temporal runtime shuts workers down on these signals itself: our long polls must hear them too
  const stopping = new AbortController();
  const onSignal = () => stopping.abort();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const worker = await createKnotWorker({ ...setup, deps: { ...setup.deps, stopping: stopping.signal } });
  for (const s of signals) process.on(s, onSignal);
  const running = worker.run();
  running.catch(onError);
  void running.finally(() => {
    for (const s of signals) process.off(s, onSignal);
  }).catch(() => undefined);
  return {
    worker,
    async stop() {
      stopping.abort();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    },
  };
}
