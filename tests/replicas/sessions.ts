/**
 * What the session scenario of the replica tier drives: a terminal (the typed client's attach
 * layer), an SSH stream (the agent's SSH server banner), a port stream (an echo), each over a real
 * WebSocket to one API replica; and which replica holds a space's link, read from the link
 * record in Redis as every replica reads it.
 */
import Redis from 'ioredis';
import { WebSocket } from 'ws';
import { RedisAgentStateStore } from '../../store/redis/agent-state';
import { until } from '../support/wait';

/** A raw WebSocket collecting what it receives; `opened` / `closed` as promises. */
export function rawStream(url: string, token: string) {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const received: Buffer[] = [];
  ws.on('error', () => {});
  ws.on('message', (data: Buffer) => received.push(Buffer.from(data)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`${url}: refused with ${res.statusCode}`)));
  });
  return { ws, opened, text: () => Buffer.concat(received).toString('latin1') };
}

/** The SSH server's banner through `api`: the stream reaches the agent's SSH server. */
export async function sshBanner(api: string, spaceId: string, token: string): Promise<string> {
  const s = rawStream(`${api.replace(/^http/, 'ws')}/api/v1/spaces/${spaceId}/ssh/stream`, token);
  await s.opened;
  s.ws.send(Buffer.from('SSH-2.0-replica-tier\r\n'));
  await until(`the SSH banner through ${api}`, () => /^SSH-2\.0-.*\r\n/.test(s.text()), 15_000, 10);
  s.ws.close();
  return s.text().split('\r\n')[0]!;
}

/** Sends `payload` to a port of the space through `api` and waits for it back from an echo server. */
export async function echoThrough(api: string, spaceId: string, port: number, token: string, payload: string): Promise<void> {
  const s = rawStream(`${api.replace(/^http/, 'ws')}/api/v1/spaces/${spaceId}/ports/${port}/stream`, token);
  await s.opened;
  s.ws.send(Buffer.from(payload));
  await until(`the echo through ${api}`, () => s.text() === payload, 15_000, 10);
  s.ws.close();
}

/** The URL of the API replica holding the space's link (its advertised URL), or null when none does. */
export async function linkHolder(redis: { url: string; prefix: string }, spaceId: string): Promise<string | null> {
  const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    const record = await new RedisAgentStateStore(r, 60_000, { prefix: redis.prefix }).get(spaceId);
    return record?.connected ? (record.holder ?? null) : null;
  } finally {
    await r.quit();
  }
}
