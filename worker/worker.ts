/**
 * The worker process: registers the workflows and activities on the task queue, applies the
 * Schedules, and shuts down cleanly (in-flight activities finish or heartbeat-time-out elsewhere).
 */
import path from 'node:path';
import { DefaultLogger, NativeConnection, Worker, Runtime, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
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

export async function createKnotWorker(setup: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    activities: createActivities(setup.deps),
    ...workflowSource(setup.workflowBundlePath),
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
  const worker = await createKnotWorker(setup);
  const running = worker.run();
  running.catch(onError);
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    },
  };
}
