/**
 * The SSH routes of the link: `POST /v1/ssh` (one SSH connection as the stream's bodies) and
 * `PUT /v1/ssh/config` (the embedded server's host key and authorized keys).
 *
 * When the image runs its own sshd on KNOT_SSH_PORT, a connection goes to it (as knot does); else
 * to the embedded server; else 503 with why.
 */
import http2, { type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { Logger } from 'pino';
import { MAX_SSH_CONFIG_BYTES, parseSshConfig } from '../link/protocol';
import type { SshServer } from './ssh-server';

function answer(stream: ServerHttp2Stream, status: number, text?: string): void {
  if (stream.destroyed) return;
  if (!stream.headersSent) stream.respond({ ':status': status, ...(text ? { 'content-type': 'text/plain; charset=utf-8' } : {}) }, { endStream: !text });
  if (text) stream.end(`${text}\n`);
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/** Connects to the image's sshd on 127.0.0.1:port; null when nothing accepts there. */
function connectLocal(port: number, timeoutMs = 1000): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const fail = () => {
      socket.destroy();
      resolve(null);
    };
    socket.setTimeout(timeoutMs, fail);
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeListener('error', fail);
      resolve(socket);
    });
  });
}

export async function serveSsh(stream: ServerHttp2Stream, ssh: SshServer, sshPort: number | null, logger: Logger): Promise<void> {
  const local = sshPort === null ? null : await connectLocal(sshPort);
  if (stream.destroyed) {
    local?.destroy();
    return;
  }
  if (local) {
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
    logger.info({ port: sshPort }, "ssh connection to the image's sshd");
    ssh.track(stream);
    local.on('error', () => stream.destroy());
    stream.on('error', () => local.destroy());
    stream.on('close', () => local.destroy());
    local.pipe(stream).pipe(local);
    return;
  }
  if (!ssh.configured) return answer(stream, 503, 'SSH is not ready in this space yet (no host key from the server)');
  stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
  ssh.inject(stream);
}

export function serveSshConfig(stream: ServerHttp2Stream, ssh: SshServer, logger: Logger): void {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_SSH_CONFIG_BYTES) {
      stream.removeAllListeners('data');
      stream.resume();
      answer(stream, 413, 'SSH config too large');
      return;
    }
    chunks.push(chunk);
  });
  stream.on('end', () => {
    if (size > MAX_SSH_CONFIG_BYTES) return;
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(stream, 400, 'the SSH config is not JSON');
    }
    const parsed = parseSshConfig(value);
    if (typeof parsed === 'string') return answer(stream, 400, `bad SSH config: ${parsed}`);
    try {
      ssh.configure(parsed);
    } catch (e) {
      // never the key itself in the log: only why it was refused
      logger.warn({ reason: (e as Error).message }, 'ssh config refused');
      return answer(stream, 400, (e as Error).message);
    }
    answer(stream, 204);
  });
}
