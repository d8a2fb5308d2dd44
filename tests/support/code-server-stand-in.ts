/**
 * A STAND-IN for code-server, for tests: real code-server cannot be installed here (its npm
 * install builds native modules and downloads ripgrep from GitHub). It copies only what knot
 * depends on:
 *
 * - `GET /healthz` → 200 `{"status":"alive"}` (how the agent tells code-server is up);
 * - `GET /` → a small page whose script (`./app.js`, not inline) opens a WebSocket to `./ws`
 *   relative to the page, shows "connected" and the echo of a message it sends;
 * - the WebSocket `./ws` with code-server's Origin rule (since 4.10.1, src/node/http.ts
 *   authenticateOrigin; code-server#6023): an upgrade whose Origin host is not the request's host
 *   (Forwarded host=, else X-Forwarded-Host, else Host) is refused with 403. A missing Origin is
 *   let through, as code-server does (not a browser).
 *
 * So a proxy that does not pass the public host on (X-Forwarded-Host) breaks this page's WebSocket
 * exactly as it would break the real editor's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export const STAND_IN_TITLE = 'code-server stand-in';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${STAND_IN_TITLE}</title></head>
<body><h1>${STAND_IN_TITLE}</h1><p id="status">connecting…</p><ul id="messages"></ul>
<script src="./app.js"></script></body></html>
`;

const SCRIPT = `const status = document.getElementById('status');
const messages = document.getElementById('messages');
const ws = new WebSocket(new URL('./ws', location.href).href.replace(/^http/, 'ws'));
ws.onopen = () => { status.textContent = 'connected'; ws.send('hello from the editor'); };
ws.onmessage = (e) => { const li = document.createElement('li'); li.textContent = 'echo: ' + e.data; messages.appendChild(li); };
ws.onclose = (e) => { if (status.textContent !== 'connected') status.textContent = 'refused (' + e.code + ')'; else status.textContent = 'closed'; };
`;

function firstHeader(v: string | string[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one?.split(',')[0]?.trim() || undefined;
}

/** The host code-server compares the Origin with: Forwarded's host=, X-Forwarded-Host, Host. */
export function requestHost(req: http.IncomingMessage): string | undefined {
  const forwarded = firstHeader(req.headers.forwarded);
  const fromForwarded = forwarded ? /(?:^|;)\s*host="?([^";]+)"?/i.exec(forwarded)?.[1] : undefined;
  return (fromForwarded ?? firstHeader(req.headers['x-forwarded-host']) ?? firstHeader(req.headers.host))?.toLowerCase();
}

/** code-server's rule: null when the upgrade may go on, else why not. */
export function originRefusal(req: http.IncomingMessage): string | null {
  const raw = firstHeader(req.headers.origin);
  if (!raw) return null;
  let origin: string;
  try {
    origin = new URL(raw).host.toLowerCase();
  } catch {
    return `malformed origin "${raw}"`;
  }
  const host = requestHost(req);
  if (!host) return 'no host headers found';
  return host === origin ? null : `host "${host}" does not match origin "${origin}"`;
}

export interface CodeServerStandIn {
  port: number;
  /** the upgrades refused by the Origin rule, with the reason */
  refused: string[];
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 (a free port unless one is given). */
export async function startCodeServerStandIn(port = 0): Promise<CodeServerStandIn> {
  const refused: string[] = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'alive', lastHeartbeat: Date.now() }));
    else if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(SCRIPT);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const why = (req.url ?? '/').split('?')[0] === '/ws' ? originRefusal(req) : 'not found';
    if (why) {
      refused.push(why);
      const status = why === 'not found' ? '404 Not Found' : '403 Forbidden';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\nConnection: close\r\n\r\n${why}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
