/**
 * Piping bytes into a socket with one write per event-loop turn instead of one per chunk read.
 *
 * Why: an HTTP/2 stream's body arrives in DATA frames of at most 16 KiB — Node's HTTP/2 sends no
 * larger ones, whatever SETTINGS_MAX_FRAME_SIZE the peer announced (LINK_H2_SETTINGS) — and each
 * frame is a 'data' event of its own, with the tick queue run after each. `pipe()` made each one a
 * write(2): pulling 200 MB through `knot forward port` was ≈ 15,400 writes by the API to the CLI's
 * socket, so the CLI too read and wrote ≈ 27 KB at a time (bench/RESULTS.md §11, fourth pass).
 * Everything one turn brings (the frames of the link's reads in one poll phase) goes out here as
 * one writev once the turn's I/O is done (setImmediate: no timer, no wait for more data).
 */
import type { Readable, Writable } from 'node:stream';

/** What may wait in the destination's buffer before the source is paused (pipe() pauses at its highWaterMark, 16 KiB for a socket). */
export const TURN_PIPE_MAX_BUFFERED = 512 * 1024;

/**
 * `from.pipe(to)` as far as the port relays rely on it — every chunk in order, `to.end()` once
 * `from` ended, `from` paused while more than `maxBuffered` bytes wait in `to` and resumed at its
 * 'drain' — with the writes of one turn corked into one. Errors and closes stay the caller's (as
 * with pipe()); once `to` is closed or ended nothing more is written to it.
 */
export function pipeByTurn(from: Readable, to: Writable, maxBuffered = TURN_PIPE_MAX_BUFFERED): void {
  // 'drain' comes only after a write that filled the buffer to its highWaterMark
  const limit = Math.max(maxBuffered, to.writableHighWaterMark);
  let corked = false;
  let waiting = false;
  const uncork = () => {
    corked = false;
    if (!to.destroyed) to.uncork();
  };
  const resume = () => {
    waiting = false;
    from.resume();
  };
  const onData = (chunk: Buffer) => {
    if (to.destroyed || to.writableEnded) return;
    if (!corked) {
      corked = true;
      to.cork();
      setImmediate(uncork);
    }
    to.write(chunk);
    if (!waiting && to.writableLength >= limit) {
      waiting = true;
      from.pause();
      to.once('drain', resume);
    }
  };
  const onEnd = () => {
    // end() writes what a cork holds first
    if (!to.destroyed && !to.writableEnded) to.end();
  };
  from.on('data', onData);
  from.once('end', onEnd);
  to.once('close', () => {
    from.off('data', onData);
    from.off('end', onEnd);
    to.off('drain', resume);
  });
  // as pipe(): a source paused before starts flowing
  from.resume();
}
