/**
 * link/turn-pipe.ts on real sockets: an HTTP/2 stream's body (DATA frames of ≤ 16 KiB, one 'data'
 * event each) reaches a TCP socket whole and in order, in far fewer writes than frames; a
 * destination that stops reading pauses the source with a bounded buffer, and everything arrives
 * once it reads again; once the destination is gone the source is let go.
 */
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pipeByTurn, TURN_PIPE_MAX_BUFFERED } from '../../../link/turn-pipe';

function listen(server: net.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** Resolves once `cond` holds, checking after each turn of the event loop. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** A TCP sink collecting what arrives on its one connection; `paused` starts it not reading. */
async function sink(opts: { paused: boolean }) {
  let conn: net.Socket | null = null;
  const got: Buffer[] = [];
  let ended = false;
  const server = net.createServer((c) => {
    conn = c;
    if (opts.paused) c.pause();
    c.on('data', (d: Buffer) => got.push(d));
    c.on('end', () => {
      ended = true;
      c.end();
    });
    c.on('error', () => {});
  });
  const port = await listen(server);
  const client = net.connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  await until(() => conn !== null, 'the sink to accept');
  return {
    client,
    resume: () => conn!.resume(),
    destroy: () => {
      client.destroy();
      conn?.destroy();
    },
    ended: () => ended,
    bytes: () => Buffer.concat(got),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Counts the write dispatches (one per write(2)/writev(2)) a socket makes. */
function countWrites(socket: net.Socket): () => number {
  let n = 0;
  const s = socket as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  for (const name of ['_write', '_writev'] as const) {
    const orig = s[name].bind(socket);
    s[name] = (...a: unknown[]) => {
      n++;
      return orig(...a);
    };
  }
  return () => n;
}

describe('pipeByTurn', () => {
  test("an HTTP/2 stream's body reaches a socket whole, in order, and in fewer writes than frames", async () => {
    const body = randomBytes(8 * 1024 * 1024 + 3);
    const h2 = http2.createServer();
    h2.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      let at = 0;
      const pump = () => {
        while (at < body.length) {
          const chunk = body.subarray(at, at + 64 * 1024);
          at += chunk.length;
          if (!stream.write(chunk)) return void stream.once('drain', pump);
        }
        stream.end();
      };
      pump();
    });
    const h2Port = await listen(h2);
    const session = http2.connect(`http://127.0.0.1:${h2Port}`);
    const out = await sink({ paused: false });
    try {
      const writes = countWrites(out.client);
      const stream = session.request({ ':path': '/' });
      let frames = 0;
      stream.on('data', () => frames++);
      pipeByTurn(stream, out.client);
      await until(() => out.ended(), 'the end to cross');
      expect(out.bytes().equals(body)).toBe(true);
      // pipe() wrote once per frame (8 MiB / 16 KiB = 512 frames)
      expect(frames).toBeGreaterThanOrEqual(512);
      expect(writes()).toBeLessThan(frames / 2);
    } finally {
      session.destroy();
      out.destroy();
      await out.close();
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });

  test('a destination that stops reading pauses the source with a bounded buffer; all arrives once it reads again', async () => {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const out = await sink({ paused: true });
    try {
      pipeByTurn(source, out.client);
      // what waits in our buffer after each chunk taken (this listener runs after the pipe's write)
      let mostBuffered = 0;
      source.on('data', () => (mostBuffered = Math.max(mostBuffered, out.client.writableLength)));
      // the kernel's socket buffers fill, then ours up to the limit, then the source is paused
      await until(() => source.readableFlowing === false, 'the source to be paused');
      expect(produced).toBeLessThan(total);
      // past pipe()'s 16 KiB (a turn's reads go out together), never past the limit and one chunk
      expect(mostBuffered).toBeGreaterThanOrEqual(TURN_PIPE_MAX_BUFFERED);
      out.resume();
      await until(() => out.ended(), 'the end to cross');
      expect(out.bytes().length).toBe(total);
      expect(mostBuffered).toBeLessThanOrEqual(TURN_PIPE_MAX_BUFFERED + chunk.length);
    } finally {
      out.destroy();
      await out.close();
    }
  });

  test('once the destination is gone nothing more is written to it and the source is let go', async () => {
    const source = new Readable({ read() {} });
    const out = await sink({ paused: false });
    try {
      pipeByTurn(source, out.client);
      source.push(Buffer.from('first'));
      await until(() => out.bytes().length === 5, 'the first bytes');
      out.client.destroy();
      await until(() => source.listenerCount('data') === 0, 'the pipe to let go of the source');
      expect(source.listenerCount('end')).toBe(0);
      // a later chunk and the end go nowhere, and raise nothing
      const errors: Error[] = [];
      out.client.on('error', (e) => errors.push(e));
      source.push(Buffer.from('second'));
      source.push(null);
      await new Promise((r) => setImmediate(r));
      expect(errors).toEqual([]);
    } finally {
      out.destroy();
      await out.close();
    }
  });
});
