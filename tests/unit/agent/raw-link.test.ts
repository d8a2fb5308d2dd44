/**
 * The raw link (link/raw-link.ts): HTTP/2 straight on the upgraded socket. Against a fake server
 * that answers the offer as knot's does: the agent's streams work, HTTP/2 PINGs keep it alive, a
 * silent link is redialled, a GOAWAY carries the close code both ways; and against a WebSocket-only
 * (older) server the agent falls back to a WebSocket link.
 */
import http from 'node:http';
import http2, { type ClientHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import { startAgent, type RunningAgent } from '../../../agent/agent';
import { parseAgentConfig } from '../../../agent/config';
import { LINK_PATH, LINK_SESSION_MEMORY_MB, LINK_SUBPROTOCOL, LinkClose } from '../../../link/protocol';
import { LINK_SUBPROTOCOL_H2, decodeLinkClose, encodeLinkClose, offeredSubprotocols, webSocketAccept } from '../../../link/raw-link';
import { FakeKnotServer, StateClient, until } from './fake-knot-server';

const TOKEN = 'raw-link-token-abcdef';
const quiet = pino({ level: 'silent' });

interface RawConnection {
  socket: Socket;
  h2: ClientHttp2Session;
  offered: string[];
  goaway: { code: number; reason: string } | null;
}

/** knot's side of the raw link, just enough: the token, the 101 naming the raw subprotocol, HTTP/2 as the client. */
async function rawServer(opts: { silentFirst?: boolean } = {}): Promise<{ url: string; connections: RawConnection[]; refused: number; close(): Promise<void> }> {
  const connections: RawConnection[] = [];
  const state = { refused: 0 };
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const offered = offeredSubprotocols(req.headers['sec-websocket-protocol']);
    if (req.url !== LINK_PATH || req.headers.authorization !== `Bearer ${TOKEN}` || !offered.includes(LINK_SUBPROTOCOL_H2)) {
      state.refused++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(String(req.headers['sec-websocket-key']))}\r\nSec-WebSocket-Protocol: ${LINK_SUBPROTOCOL_H2}\r\n\r\n`);
    if (head.length) socket.unshift(head);
    if (opts.silentFirst && connections.length === 0) {
      // upgraded, then nothing: no HTTP/2, so the agent's pings go unanswered
      socket.on('data', () => undefined);
      connections.push({ socket, h2: null as unknown as ClientHttp2Session, offered, goaway: null });
      return;
    }
    const h2 = http2.connect('http://agent', { createConnection: () => socket, maxSessionMemory: LINK_SESSION_MEMORY_MB });
    h2.on('error', () => undefined);
    const c: RawConnection = { socket, h2, offered, goaway: null };
    h2.on('goaway', (_code: number, _last: number, data?: Buffer) => (c.goaway = decodeLinkClose(data)));
    connections.push(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    get refused() {
      return state.refused;
    },
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('raw link', () => {
  let agent: RunningAgent | null = null;
  afterEach(async () => {
    await agent?.stop();
    agent = null;
  });

  const start = (url: string, token = TOKEN) =>
    startAgent(parseAgentConfig({ KNOT_SERVER: url, KNOT_AGENT_TOKEN: token, KNOT_AGENT_PORT: 'off' }), quiet, { heartbeatMs: 50, deadAfterMs: 300, backoff: () => 20 });

  it('offers the raw subprotocol first, serves streams over it, stays up on HTTP/2 pings, and closes with a GOAWAY carrying 1001', async () => {
    const server = await rawServer();
    try {
      agent = await start(server.url);
      await until(() => server.connections.length > 0, 'the raw link');
      const c = server.connections[0]!;
      expect(c.offered).toEqual([LINK_SUBPROTOCOL_H2, LINK_SUBPROTOCOL]);
      const state = new StateClient(c.h2);
      await until(() => state.reports.length > 0, 'a state report');
      expect(state.status).toBe(200);
      // many heartbeats (50 ms) past the dead-after (300 ms): answered pings keep the one link
      await new Promise((r) => setTimeout(r, 700));
      expect(server.connections).toHaveLength(1);
      await agent.stop();
      agent = null;
      expect(c.goaway).toEqual({ code: LinkClose.GoingAway, reason: 'agent stopping' });
    } finally {
      await server.close();
    }
  });

  it('redials a silent raw link, and one the server ends with a GOAWAY', async () => {
    const server = await rawServer({ silentFirst: true });
    try {
      agent = await start(server.url);
      await until(() => server.connections.length > 1, 'a second link after the silence', 5000);
      server.connections[1]!.h2.goaway(http2.constants.NGHTTP2_NO_ERROR, 0, encodeLinkClose(LinkClose.Replaced, 'replaced'));
      await until(() => server.connections.length > 2, 'a third link after the GOAWAY', 5000);
    } finally {
      await server.close();
    }
  });

  it('keeps retrying a refused token', async () => {
    const server = await rawServer();
    try {
      agent = await start(server.url, 'wrong-token');
      await until(() => server.refused >= 3, 'three refused dials');
      expect(server.connections).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('falls back to a WebSocket link with a server that answers the offer with the WebSocket subprotocol', async () => {
    const server = await FakeKnotServer.start(TOKEN);
    try {
      agent = await start(server.url);
      // the first upgrade picked the WebSocket subprotocol: the agent drops it and dials a WebSocket link
      const c = await server.connection(1);
      expect(c.ws.protocol).toBe(LINK_SUBPROTOCOL);
      expect(c.headers['sec-websocket-protocol']).toBe(LINK_SUBPROTOCOL);
      const state = new StateClient(c.h2);
      await until(() => state.reports.length > 0, 'a state report over the WebSocket link');
    } finally {
      await agent?.stop();
      agent = null;
      await server.close();
    }
  });
});

describe('raw link helpers', () => {
  it('computes the RFC 6455 accept key and reads offered subprotocols', () => {
    expect(webSocketAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(offeredSubprotocols('knot-link.h2, knot-link.v1')).toEqual(['knot-link.h2', 'knot-link.v1']);
    expect(offeredSubprotocols(undefined)).toEqual([]);
  });

  it('round-trips a close code through GOAWAY data and ignores anything else', () => {
    expect(decodeLinkClose(encodeLinkClose(4401, 'revoked'))).toEqual({ code: 4401, reason: 'revoked' });
    expect(decodeLinkClose(Buffer.from('not json'))).toBeNull();
    expect(decodeLinkClose(undefined)).toBeNull();
  });
});
