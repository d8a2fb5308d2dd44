/**
 * The running activity's context: heartbeats and the progress a previous attempt heartbeated.
 * Activities run under a worker or, in tests and benchmarks, under MockActivityEnvironment.
 */
import { Context } from '@temporalio/activity';

export function heartbeat(details?: unknown): void {
  Context.current().heartbeat(details);
}

/** The progress the previous attempt of this activity heartbeated, if any. */
export function resumedFrom<T>(): T | undefined {
  return Context.current().info.heartbeatDetails as T | undefined;
}
