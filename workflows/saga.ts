/**
 * Compensations registered as a run makes progress and run in reverse when it fails, inside a
 * non-cancellable scope so they run even when the workflow is cancelled.
 */
import { CancellationScope, log } from '@temporalio/workflow';

export class Saga {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** Runs every compensation, newest first; one failing does not stop the others. */
  async compensate(): Promise<string[]> {
    const failed: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
        } catch (e) {
          log.error('compensation failed', { step: step.name, error: (e as Error).message });
          failed.push(step.name);
        }
      }
    });
    this.steps.length = 0;
    return failed;
  }
}
