/**
 * Following an operation live: the event stream (opened before the request, so no step is missed)
 * shows each step as it happens with its duration; Ctrl-C asks whether to cancel or detach.
 */
import { createInterface } from 'node:readline';
import type { KnotClient, KnotEvent, OperationDetail } from '../client';
import { formatMs, type Ui } from './terminal';

export type InterruptChoice = 'ask' | 'cancel' | 'detach';

export interface FollowOutcome {
  operation: OperationDetail;
  detached: boolean;
}

/** What to do on Ctrl-C: a menu on a TTY, a line on stdin otherwise (scripts and tests answer it). */
async function askCancelOrDetach(ui: Ui): Promise<'cancel' | 'detach'> {
  if (process.stdin.isTTY) {
    const { select } = await import('@inquirer/prompts');
    return select({
      message: 'Interrupted. Cancel the operation, or detach and let it run?',
      choices: [
        { name: 'cancel the operation (it undoes what it did)', value: 'cancel' as const },
        { name: 'detach (the operation keeps running)', value: 'detach' as const },
      ],
    }).catch(() => 'detach' as const);
  }
  ui.error('Interrupted. Cancel the operation? [c]ancel / [d]etach:');
  const rl = createInterface({ input: process.stdin });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*c/i.test(answer) ? 'cancel' : 'detach';
  } finally {
    rl.close();
  }
}

export class OperationFollower {
  private readonly abort = new AbortController();
  private readonly opened: Promise<void>;
  private readonly buffered: (KnotEvent | { type: 'reset' })[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(
    private readonly client: KnotClient,
    private readonly ui: Ui,
  ) {
    let opened!: () => void;
    this.opened = new Promise<void>((r) => (opened = r));
    const events = client.events({ signal: this.abort.signal, onOpen: () => opened() });
    void (async () => {
      try {
        for await (const e of events) {
          this.buffered.push(e);
          this.wake?.();
        }
      } catch (e) {
        this.buffered.push({ type: 'reset' });
        if (!this.abort.signal.aborted) ui.error(ui.c.yellow(`event stream unavailable (${(e as Error).message}); polling`));
      } finally {
        this.ended = true;
        this.wake?.();
      }
    })();
  }

  /** Resolves once the server has answered the stream (or after a short bound: polling takes over). */
  async ready(): Promise<void> {
    await Promise.race([this.opened, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }

  close(): void {
    this.abort.abort();
    this.ui.idle();
  }

  private async next(timeoutMs: number): Promise<(KnotEvent | { type: 'reset' }) | null> {
    if (this.buffered.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.buffered.shift() ?? null;
  }

  private show(e: KnotEvent): void {
    const { c } = this.ui;
    if (e.type !== 'operation.step' || !e.step) return;
    if (e.stepStatus === 'running') this.ui.busy(e.step);
    else if (e.stepStatus === 'succeeded') this.ui.line(`${c.green('✓')} ${e.step}  ${c.dim(formatMs(e.durationMs))}`);
    else if (e.stepStatus === 'failed') this.ui.line(`${c.red('✗')} ${e.step}  ${c.dim(formatMs(e.durationMs))}`);
    else if (e.stepStatus === 'cancelled') this.ui.line(`${c.yellow('⊘')} ${e.step} (cancelled)  ${c.dim(formatMs(e.durationMs))}`);
    else if (e.stepStatus === 'retrying') this.ui.line(c.dim(`↻ ${e.step}: retrying (${e.error?.message ?? 'error'})`));
  }

  /** Shows the operation's steps until it finishes (or the user detaches). */
  async follow(operationId: string, onInterrupt: InterruptChoice): Promise<FollowOutcome> {
    let interrupted: 'cancel' | 'detach' | null = null;
    let asking = false;
    const onSigint = () => {
      if (asking || interrupted === 'cancel') {
        interrupted = 'detach';
        this.wake?.();
        return;
      }
      asking = true;
      this.ui.idle();
      void (async () => {
        const choice = onInterrupt === 'ask' ? await askCancelOrDetach(this.ui) : onInterrupt;
        asking = false;
        if (choice === 'cancel') {
          try {
            await this.client.cancelOperation(operationId);
            this.ui.line(this.ui.c.yellow(`cancelling operation ${operationId}…`));
          } catch (e) {
            this.ui.error(`could not cancel: ${(e as Error).message}`);
          }
        }
        interrupted = choice;
        this.wake?.();
      })();
    };
    process.on('SIGINT', onSigint);
    try {
      let lastPoll = Date.now();
      for (;;) {
        if (interrupted === 'detach') return { operation: await this.client.getOperation(operationId), detached: true };
        const e = await this.next(this.ended ? 500 : 2_000);
        if (e && e.type !== 'reset') {
          if (e.operationId !== operationId) continue;
          this.show(e);
          if (e.type === 'operation.finished') return { operation: await this.client.getOperation(operationId), detached: false };
          continue;
        }
        // a reset, a quiet stream or no stream at all: ask the operation itself
        if (e || Date.now() - lastPoll > 2_000) {
          lastPoll = Date.now();
          const op = await this.client.getOperation(operationId);
          if (op.status !== 'pending' && op.status !== 'running') return { operation: op, detached: false };
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
      this.ui.idle();
    }
  }
}
