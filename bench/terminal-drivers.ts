/**
 * The two terminals the terminal benchmarks compare, behind one interface: knot's (the typed
 * client's TerminalConnection over the API's WebSocket, relayed over the agent link to a PTY in the
 * real agent process) and a direct one (a @lydell/node-pty spawn of the same shell in this
 * process). Output is matched as it arrives, by callback, never by polling: a 10 ms poll would be
 * larger than the latency being measured.
 */
import { spawn as spawnPty, type IPty } from '@lydell/node-pty';
import { WebSocket } from 'ws';
import { TerminalConnection } from '../client/terminal';
import { resolveShell, shellSearchPath } from '../agent/shells';

export const TERM_COLS = 200;
export const TERM_ROWS = 50;

interface Waiter {
  needle: Buffer;
  /** the last needle.length-1 bytes of what came before, so a needle split across chunks is found */
  tail: Buffer;
  bytes: number;
  resolve(bytes: number): void;
  timer: NodeJS.Timeout;
}

/** Bytes as they arrive, and at most one pending "until this appears" wait. */
export class OutputMatcher {
  private waiter: Waiter | null = null;
  total = 0;

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    const w = this.waiter;
    if (!w) return;
    w.bytes += chunk.length;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = w.needle.length;
    // across the chunk boundary, then inside the chunk
    const edge = w.tail.length ? Buffer.concat([w.tail, buf.subarray(0, n - 1)]) : null;
    if ((edge && edge.includes(w.needle)) || buf.includes(w.needle)) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.resolve(w.bytes);
      return;
    }
    if (n > 1) w.tail = Buffer.concat([w.tail, buf.subarray(Math.max(0, buf.length - (n - 1)))]).subarray(-(n - 1));
  }

  /** Resolves with the bytes received from now until `needle` has appeared (arm it before writing). */
  until(needle: string, timeoutMs: number, what: string): Promise<number> {
    if (this.waiter) throw new Error('one wait at a time');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${what}: no ${JSON.stringify(needle)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { needle: Buffer.from(needle, 'utf8'), tail: Buffer.alloc(0), bytes: 0, resolve, timer };
    });
  }
}

export interface BenchTerminal {
  readonly name: 'knot' | 'direct';
  readonly out: OutputMatcher;
  write(text: string): void;
  close(): void;
}

/**
 * Makes the shell's echo just the typed character: no prompt, no prompt command, no bracketed
 * paste sequences around each line; waits until the shell has taken it.
 */
export async function quietShell(t: BenchTerminal): Promise<void> {
  const ready = t.out.until('READY_42', 15_000, `${t.name}: quiet the shell`);
  t.write(`PS1=''; PS2=''; unset PROMPT_COMMAND; bind 'set enable-bracketed-paste off' 2>/dev/null; stty -echoctl; echo READY_$((40+2))\r`);
  await ready;
  // the prompt after it (empty) is written right after; let it pass
  await new Promise((r) => setTimeout(r, 200));
}

/** knot's terminal: what the web page does, over a `ws` WebSocket with the admin's bearer token. */
export async function openKnotTerminal(url: string, spaceId: string, token: string): Promise<BenchTerminal> {
  const out = new OutputMatcher();
  let hello!: () => void;
  let failed!: (e: Error) => void;
  const attached = new Promise<void>((resolve, reject) => {
    hello = resolve;
    failed = reject;
  });
  const conn = new TerminalConnection({
    url,
    spaceId,
    shell: 'bash',
    cols: TERM_COLS,
    rows: TERM_ROWS,
    WebSocketImpl: WebSocket as never,
    headers: { Authorization: `Bearer ${token}` },
    onData: (bytes) => out.push(bytes),
    onHello: () => hello(),
    onStatus: (status, detail) => {
      if (status === 'closed') failed(new Error(`knot terminal closed: ${JSON.stringify(detail)}`));
    },
  });
  const timer = setTimeout(() => failed(new Error('knot terminal: no Hello within 15 s')), 15_000);
  await attached.finally(() => clearTimeout(timer));
  return { name: 'knot', out, write: (text) => conn.send(text), close: () => conn.close() };
}

/**
 * The baseline: the same shell in a PTY of this process, spawned as the agent spawns it (`-l`,
 * xterm-256color, Buffers out), with the environment the agent gives its shells.
 */
export function openDirectTerminal(env: Record<string, string>, cwd: string): BenchTerminal {
  const shell = resolveShell('bash', shellSearchPath(env.PATH));
  if (!shell || shell.name !== 'bash') throw new Error('bash is not installed');
  const out = new OutputMatcher();
  const proc: IPty = spawnPty(shell.path, ['-l'], { name: 'xterm-256color', cols: TERM_COLS, rows: TERM_ROWS, cwd, env: { ...env, TERM: 'xterm-256color' }, encoding: null });
  proc.onData((data) => out.push(data as unknown as Buffer));
  return { name: 'direct', out, write: (text) => proc.write(text), close: () => proc.kill('SIGHUP') };
}
