/**
 * Dialling the raw link (link/raw-link.ts): a WebSocket upgrade request offering
 * LINK_SUBPROTOCOL_H2 first and LINK_SUBPROTOCOL second, sent with Node's HTTP client so that the
 * upgraded socket comes back as a plain socket HTTP/2 can run on natively. The answer says which
 * one the server chose; a refusal (401, 409, …) fails like `ws` does ("Unexpected server response").
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { LINK_SUBPROTOCOL } from '../link/protocol';
import { LINK_SUBPROTOCOL_H2, webSocketAccept } from '../link/raw-link';

export interface RawDial {
  /** `raw`: HTTP/2 goes on `socket` now; `websocket`: the server chose a WebSocket link (an older server) */
  result: Promise<{ kind: 'raw' | 'websocket'; socket: Socket }>;
  abort(): void;
}

export function dialRaw(url: string, headers: Record<string, string>, timeoutMs: number): RawDial {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const key = randomBytes(16).toString('base64');
  let req: http.ClientRequest | null = null;
  let aborted = false;
  const result = new Promise<{ kind: 'raw' | 'websocket'; socket: Socket }>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      req?.destroy();
      reject(new Error(message));
    };
    req = (secure ? https : http).request({
      protocol: secure ? 'https:' : 'http:',
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || (secure ? 443 : 80),
      path: `${u.pathname}${u.search}`,
      method: 'GET',
      agent: false,
      headers: {
        ...headers,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': key,
        'sec-websocket-protocol': `${LINK_SUBPROTOCOL_H2}, ${LINK_SUBPROTOCOL}`,
      },
    });
    const timer = setTimeout(() => fail('Opening handshake has timed out'), timeoutMs);
    req.on('upgrade', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      clearTimeout(timer);
      if (settled || aborted) {
        socket.destroy();
        return;
      }
      const protocol = res.headers['sec-websocket-protocol'];
      if (res.headers['sec-websocket-accept'] !== webSocketAccept(key) || (protocol !== LINK_SUBPROTOCOL_H2 && protocol !== LINK_SUBPROTOCOL)) {
        socket.destroy();
        return fail('Invalid WebSocket handshake answer');
      }
      settled = true;
      if (head.length > 0) socket.unshift(head);
      resolve({ kind: protocol === LINK_SUBPROTOCOL_H2 ? 'raw' : 'websocket', socket });
    });
    req.on('response', (res: http.IncomingMessage) => {
      clearTimeout(timer);
      res.resume();
      fail(`Unexpected server response: ${res.statusCode}`);
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
    req.end();
  });
  return {
    result,
    abort: () => {
      aborted = true;
      req?.destroy(new Error('aborted'));
    },
  };
}
