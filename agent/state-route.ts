/**
 * `GET /v1/state` on the link: newline-delimited AgentStateReport JSON, one line now and one per
 * change, for as long as the server keeps the stream open. Each report is complete, so when the
 * stream is full only the newest pending report is kept (one line per stream at most).
 */
import type { ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import type { AgentStateReport } from '../link/protocol';
import type { AgentState } from './agent-state';

export function serveState(stream: ServerHttp2Stream, state: AgentState, logger: Logger): void {
  stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  let pending: AgentStateReport | null = null;
  let full = false;
  const write = (report: AgentStateReport) => {
    if (stream.destroyed || !stream.writable) return;
    if (full) {
      pending = report;
      return;
    }
    full = !stream.write(`${JSON.stringify(report)}\n`);
  };
  stream.on('drain', () => {
    full = false;
    const next = pending;
    pending = null;
    if (next) write(next);
  });
  write(state.report());
  const unsubscribe = state.subscribe(write);
  stream.on('close', unsubscribe);
  stream.on('error', (e) => logger.debug({ err: e }, 'state stream error'));
  // the server sends nothing on this stream; reading keeps its end-of-stream flowing
  stream.resume();
}
