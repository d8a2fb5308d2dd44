/**
 * `POST /v1/terminal` on the link: one HTTP/2 stream is one viewer of a terminal session. Both
 * directions carry stream frames (link/frames.ts). A misbehaving stream (bad frame, bad payload)
 * gets an Error frame and is closed on its own: the link, the session and other viewers carry on.
 */
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { FrameError, FrameType, StreamFrameDecoder, encodeStreamFrame, parseSize, textPayload } from '../link/frames';
import { TERMINAL_SESSION_ID, TerminalHeader } from '../link/protocol';
import { isShellName } from './shells';
import type { AttachRequest, AttachedSession, TerminalSessions } from './terminal-sessions';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The terminal request's headers, checked; a reason when they are not acceptable. */
export function parseTerminalHeaders(headers: IncomingHttpHeaders): AttachRequest | { error: string } {
  const id = header(headers, TerminalHeader.session) ?? '';
  if (!TERMINAL_SESSION_ID.test(id)) return { error: `${TerminalHeader.session} must be 8 to 64 of A-Z a-z 0-9 _ -` };
  const shell = header(headers, TerminalHeader.shell) ?? '';
  if (!isShellName(shell)) return { error: `${TerminalHeader.shell} must name one of the offered shells` };
  const cell = (name: string) => {
    const v = header(headers, name) ?? '';
    const n = /^\d{1,4}$/.test(v) ? Number(v) : NaN;
    return n >= 1 && n <= 1000 ? n : null;
  };
  const cols = cell(TerminalHeader.cols);
  const rows = cell(TerminalHeader.rows);
  if (cols === null || rows === null) return { error: `${TerminalHeader.cols} and ${TerminalHeader.rows} must be whole numbers from 1 to 1000` };
  return { id, shell, cols, rows };
}

/** Ends `stream` after `frame` (when given), and resets it so a peer still sending is cut off too. */
function finish(stream: ServerHttp2Stream, frame?: Uint8Array): void {
  if (stream.destroyed || stream.closed) return;
  if (frame && stream.writable) stream.end(frame);
  else if (stream.writable) stream.end();
  // after end(), close(NO_ERROR) waits for the written frames to flush before the RST_STREAM
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

export function serveTerminal(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, sessions: TerminalSessions, logger: Logger): void {
  const req = parseTerminalHeaders(headers);
  if ('error' in req) {
    stream.respond({ ':status': 400, 'content-type': 'text/plain; charset=utf-8' });
    finish(stream, textPayload(`${req.error}\n`));
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
  const refuse = (reason: string, attached?: AttachedSession) => {
    attached?.detach();
    logger.info({ session: req.id, reason }, 'terminal stream closed with an error');
    stream.removeAllListeners('data');
    stream.resume(); // whatever else the peer sends is dropped until the reset lands
    finish(stream, encodeStreamFrame(FrameType.Error, textPayload(reason.slice(0, 1000))));
  };

  const result = sessions.attach(req, stream);
  if (!result.ok) {
    refuse(result.reason);
    return;
  }
  const attached = result.session;
  const decoder = new StreamFrameDecoder();
  stream.on('data', (chunk: Buffer) => {
    try {
      for (const frame of decoder.push(chunk)) {
        if (frame.type === FrameType.Data) attached.input(frame.payload);
        else if (frame.type === FrameType.Resize) attached.resize(parseSize(frame.payload));
        else throw new FrameError(`a viewer may not send frames of type ${frame.type}`);
      }
    } catch (e) {
      if (!(e instanceof FrameError)) logger.error({ err: e, session: req.id }, 'terminal input failed');
      refuse(e instanceof FrameError ? e.message : 'terminal input failed', attached);
    }
  });
  // the viewer left: the session stays for re-attach (or until its keep time runs out)
  stream.on('close', () => attached.detach());
  stream.on('error', (e) => logger.debug({ err: e, session: req.id }, 'terminal stream error'));
}
