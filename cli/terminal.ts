/** Terminal output for the client verbs: colours and spinners on a TTY only (never with NO_COLOR or piped). */
import pc from 'picocolors';
import { createSpinner } from 'nanospinner';

export interface Ui {
  tty: boolean;
  json: boolean;
  c: ReturnType<typeof pc.createColors>;
  line(text: string): void;
  error(text: string): void;
  /** shows `text` with a spinner on a TTY; nothing otherwise */
  busy(text: string): void;
  idle(): void;
}

export function createUi(opts: { json?: boolean } = {}): Ui {
  const tty = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const c = pc.createColors(tty);
  let spinner: ReturnType<typeof createSpinner> | null = null;
  const idle = () => {
    spinner?.clear();
    spinner?.stop();
    spinner = null;
  };
  return {
    tty,
    json: opts.json ?? false,
    c,
    line(text) {
      const again = spinner ? (idle(), true) : false;
      process.stdout.write(`${text}\n`);
      void again;
    },
    error(text) {
      idle();
      process.stderr.write(`${text}\n`);
    },
    busy(text) {
      if (!tty || opts.json) return;
      if (spinner) spinner.update({ text });
      else spinner = createSpinner(text, { stream: process.stdout }).start();
    },
    idle,
  };
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A fixed-width table without colours in the cells (so it stays aligned when piped). */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
