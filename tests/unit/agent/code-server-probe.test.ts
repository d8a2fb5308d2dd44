/** code-server counts as there when its /healthz answers 200, asked at most every 5 s. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answersHealthz, HealthProbe } from '../../../agent/http-probe';
import { scanServices } from '../../../agent/services';

function serve(handler: http.RequestListener): Promise<{ port: number; close: () => void }> {
  const server = http.createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

describe('code-server detection', () => {
  it('answersHealthz: 200 in time is healthy; another status, a hang or nothing listening is not', async () => {
    const ok = await serve((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
    const starting = await serve((_req, res) => res.writeHead(503).end());
    const hangs = await serve(() => undefined);
    try {
      expect(await answersHealthz(ok.port)).toBe(true);
      expect(await answersHealthz(starting.port)).toBe(false);
      const t0 = Date.now();
      expect(await answersHealthz(hangs.port, '/healthz', 150)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(1000);
      hangs.close();
      expect(await answersHealthz(hangs.port)).toBe(false);
    } finally {
      ok.close();
      starting.close();
      hangs.close();
    }
  });

  it('HealthProbe keeps an answer for its interval, and forgets it when told', async () => {
    let now = 0;
    const asked: number[] = [];
    const probe = new HealthProbe(async (port) => (asked.push(port), true), () => now, 5000);
    expect(await probe.healthy(8443)).toBe(true);
    now = 4999;
    await probe.healthy(8443);
    expect(asked).toHaveLength(1);
    now = 5000;
    await probe.healthy(8443);
    expect(asked).toHaveLength(2);
    probe.forget();
    await probe.healthy(8443);
    expect(asked).toHaveLength(3);
  });

  it('scanServices: codeServer and codeServerPort only when the port listens and /healthz says so', async () => {
    let healthy = false;
    const probe = new HealthProbe(async () => healthy, () => 0, 0);
    const opts = { terminal: true, sshPort: null, codeServerPort: 8443, ownPorts: [], codeServerProbe: probe };
    expect(await scanServices(opts, async () => [8443])).toMatchObject({ codeServer: false });
    expect((await scanServices(opts, async () => [8443])).codeServerPort).toBeUndefined();
    healthy = true;
    expect(await scanServices(opts, async () => [8443])).toMatchObject({ codeServer: true, codeServerPort: 8443 });
    // not listening: not asked at all
    expect(await scanServices(opts, async () => [])).toMatchObject({ codeServer: false });
  });
});
