/**
 * The health check Nomad/Consul calls from outside the task: `GET /ping` → 200 with no body. It says
 * nothing about the space (no version, no data) because anyone on the node's network can reach it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PING_PATH } from '../link/protocol';

export interface PingServer {
  port: number;
  close(): Promise<void>;
}

export async function startPingServer(port: number, host = '0.0.0.0'): Promise<PingServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const ok = (req.method === 'GET' || req.method === 'HEAD') && path === PING_PATH;
    res.writeHead(ok ? 200 : 404, { 'content-length': '0', 'cache-control': 'no-store' });
    res.end();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
