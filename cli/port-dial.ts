/**
 * Opening one port stream for `knot forward port` (link/raw-port.ts): a WebSocket upgrade sent with
 * Node's HTTP client, offering the raw mode first and the WebSocket mode second, so that the
 * upgraded socket comes back as a plain socket. A server that chose the raw mode (its 101 names
 * PORT_SUBPROTOCOL_RAW and carries PORT_RAW_HEADER) gets the bytes on that socket; any other 101 is
 * a WebSocket server (an older knot), and the same socket carries on as a WebSocket — no second
 * dial, so the server opens one connection to the app and audits one, as before.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { offeredSubprotocols, webSocketAccept } from '../link/raw-link';
import { PORT_RAW_HEADER, PORT_SUBPROTOCOL, PORT_SUBPROTOCOL_RAW } from '../link/raw-port';
import { ZERO_MASK } from '../link/ws-pipe';

/** The largest message the server may send in the WebSocket mode (its reads are at most 64 KiB). */
const MAX_MESSAGE = 1024 * 1024;

export type PortStream = { kind: 'raw'; socket: Socket } | { kind: 'websocket'; ws: WebSocket };

/** The server answered the upgrade with a refusal (a problem), not 101. */
export class PortStreamRefused extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

export interface PortDial {
  result: Promise<PortStream>;
  abort(): void;
}

/**
 * The socket of a 101 as `ws`'s client would hold it after its own handshake. `ws` builds its
 * server-side WebSockets the same way (`new WebSocket(null)` + `setSocket`); a client one differs
 * only in `_isServer` (masking, which side closes the TCP connection first).
 */
function clientWebSocketOn(socket: Socket, head: Buffer, protocol: string): WebSocket {
  const ws = new (WebSocket as unknown as new (address: null, protocols: undefined, options: object) => WebSocket)(null, undefined, { autoPong: true });
  const inner = ws as unknown as {
    _isServer: boolean;
    _protocol: string;
    setSocket(socket: Socket, head: Buffer, options: object): void;
  };
  inner._isServer = false;
  inner._protocol = protocol;
  inner.setSocket(socket, head, { allowSynchronousEvents: true, generateMask: ZERO_MASK, maxPayload: MAX_MESSAGE, skipUTF8Validation: false });
  return ws;
}

/** The problem's detail of a refused upgrade, else its status. */
function refusal(res: http.IncomingMessage): Promise<PortStreamRefused> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body = (body + c).slice(0, 4000)));
    res.on('error', () => resolve(new PortStreamRefused(res.statusCode ?? 0, `HTTP ${res.statusCode}`)));
    res.on('end', () => {
      let detail = `HTTP ${res.statusCode}`;
      try {
        detail = (JSON.parse(body) as { detail?: string }).detail ?? detail;
      } catch {
        // not a problem document
      }
      resolve(new PortStreamRefused(res.statusCode ?? 0, detail));
    });
  });
}

/**
 * Dials `url` (ws: or wss:). `raw: false` offers only the WebSocket mode (for a proxy in between
 * that reads WebSocket frames). A refusal rejects with PortStreamRefused, anything else with Error.
 */
export function dialPortStream(url: string, headers: Record<string, string>, opts: { raw: boolean; timeoutMs: number }): PortDial {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const key = randomBytes(16).toString('base64');
  const offered = opts.raw ? [PORT_SUBPROTOCOL_RAW, PORT_SUBPROTOCOL] : [PORT_SUBPROTOCOL];
  let req: http.ClientRequest | null = null;
  let aborted = false;
  const result = new Promise<PortStream>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error('Opening handshake has timed out')), opts.timeoutMs);
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
        'sec-websocket-protocol': offered.join(', '),
      },
    });
    req.on('upgrade', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      clearTimeout(timer);
      if (settled || aborted) {
        socket.destroy();
        return;
      }
      const chosen = offeredSubprotocols(res.headers['sec-websocket-protocol']);
      const protocol = chosen.length === 1 ? chosen[0]! : '';
      if (res.headers['sec-websocket-accept'] !== webSocketAccept(key) || !offered.includes(protocol)) {
        socket.destroy();
        return fail(new Error('Invalid WebSocket handshake answer'));
      }
      settled = true;
      // a FIN from the server ends only its direction; ours stays open until the local side ends
      socket.allowHalfOpen = true;
      socket.setNoDelay(true);
      socket.setTimeout(0);
      if (protocol === PORT_SUBPROTOCOL_RAW && res.headers[PORT_RAW_HEADER] === 'raw') {
        if (head.length > 0) socket.unshift(head);
        resolve({ kind: 'raw', socket });
      } else resolve({ kind: 'websocket', ws: clientWebSocketOn(socket, head, protocol) });
    });
    req.on('response', (res: http.IncomingMessage) => {
      clearTimeout(timer);
      void refusal(res).then(fail);
    });
    req.on('error', (e) => fail(e));
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
