/**
 * link/ws-carrier.ts: ending the carrier completes when the peer has gone away. ws's own stream
 * waits for its TCP socket's 'finish', which a socket the peer reset never emits, so the JS stream
 * socket under an HTTP/2 session kept its shutdown pending and asserted (ERR_INTERNAL_ASSERTION,
 * uncaught) on the session's next write: one agent-test teardown in five.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { webSocketCarrier } from '../../../link/ws-carrier';

/** Runs `body` with a WebSocket pair on loopback (the server's end and the client's), then tears it down. */
async function withPair<T>(body: (server: WebSocket, client: WebSocket) => Promise<T>): Promise<T> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  try {
    await once(wss, 'listening');
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    await once(client, 'open');
    const [server] = await accepted;
    return await body(server, client);
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}

/** The client is reset (TCP) after `carry` has written some bytes; resolves whether end() completed. */
function endAfterPeerReset(carry: (ws: WebSocket) => Duplex, waitForClose: boolean): Promise<boolean> {
  return withPair(async (server, client) => {
    const carrier = carry(server);
    carrier.on('error', () => {});
    carrier.write(Buffer.alloc(1000, 1));
    const serverClosed = once(server, 'close');
    client.terminate();
    if (waitForClose) await serverClosed;
    const ended = new Promise<boolean>((r) => carrier.end(() => r(true)));
    // after the server side has closed, anything still pending there stays pending for good
    await serverClosed;
    return await Promise.race([ended, new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
  });
}

it.each([
  ['after the server has seen the close', true],
  ['while the reset is on its way', false],
])('end() completes once the peer has reset the connection (%s)', async (_when, waitForClose) => {
  expect(await endAfterPeerReset(webSocketCarrier, waitForClose)).toBe(true);
});

it("ws's own stream, the reason for the carrier, never completes end() then", async () => {
  expect(await endAfterPeerReset((ws) => createWebSocketStream(ws), true)).toBe(false);
});

it('bytes written before end() reach a peer that reads, then the WebSocket closes normally', async () => {
  await withPair(async (server, client) => {
    let received = 0;
    client.on('message', (m: Buffer) => (received += m.length));
    const closed = once(client, 'close') as Promise<[number, Buffer]>;
    const carrier = webSocketCarrier(server);
    for (let i = 0; i < 64; i++) carrier.write(Buffer.alloc(64 * 1024, i));
    carrier.end();
    const [code] = await closed;
    expect(code).toBe(1005);
    expect(received).toBe(64 * 64 * 1024);
  });
});
