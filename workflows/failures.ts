/** Reading Temporal failure chains inside workflow code (deterministic, no I/O). */
import { ApplicationFailure, CancelledFailure, TimeoutFailure, isCancellation } from '@temporalio/workflow';
import { CANCELLED_MESSAGE, readFailureChain, summarizeChain, type FailureSummary } from '../core/failure-chain';

export type { FailureSummary } from '../core/failure-chain';

const temporalKinds = {
  isApplication: (x: unknown): x is ApplicationFailure => x instanceof ApplicationFailure,
  isTimeout: (x: unknown): x is TimeoutFailure => x instanceof TimeoutFailure,
  isCancelled: (x: unknown) => x instanceof CancelledFailure,
};

/** The innermost ApplicationFailure's type and message, or a description of the timeout/cancel. */
export function summarizeFailure(e: unknown): FailureSummary {
  const chain = readFailureChain(e, temporalKinds);
  if (isCancellation(e)) chain.cancelled = true;
  const summary = summarizeChain(chain, (e as Error)?.message ?? String(e));
  if (summary.cancelled) return { ...summary, message: CANCELLED_MESSAGE };
  // a Nomad error the retries could not get past says so: the operator looks at Nomad, not the template
  if (chain.application && summary.retriesExhausted && summary.type.startsWith('nomad')) {
    return { ...summary, message: `Nomad kept failing past the retry budget: ${summary.message}` };
  }
  return summary;
}
