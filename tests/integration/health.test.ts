/** /health with real dependencies: 200 when store and Temporal answer, 503 naming what is down. */
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../core/config';
import { startApiServer } from '../../api/server';
import { temporalReachable } from '../../temporal/client';
import { freePort } from '../../temporal/dev-server';
import { healthChecks } from '../../cli/services';
import { createTestStore } from '../support/db';

async function healthOf(url: string) {
  const res = await fetch(`${url}/health`);
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

it('answers 200 with every dependency up and 503 naming each one that is down', async () => {
  const t = await createTestStore('sqlite');
  const live = new Client({ connection: await Connection.connect({ address: process.env.KNOT_TEST_TEMPORAL_ADDRESS! }) });
  // nothing listens there: a real connection attempt that fails
  const dead = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: '1s' }) });
  let temporal = live;
  const config = loadConfig('', {});
  const api = await startApiServer({
    store: t.store,
    config,
    logger: pino({ level: 'silent' }),
    lifecycle: { startOperation: async () => Promise.reject(new Error('unused')), createSpace: async () => Promise.reject(new Error('unused')) },
    nomad: { parseJob: async () => ({}) },
    health: { checks: healthChecks(t.store, () => temporalReachable(temporal, 1500), null), timeoutMs: 3000 },
  });
  try {
    const up = await healthOf(api.url);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: 'ok', checks: { store: 'ok', temporal: 'ok' } });

    temporal = dead;
    const noTemporal = await healthOf(api.url);
    expect(noTemporal.status).toBe(503);
    expect(JSON.stringify(noTemporal.body)).toMatch(/temporal/);
    expect((noTemporal.body.checks as Record<string, string>).store).toBe('ok');
    expect((noTemporal.body.checks as Record<string, string>).temporal).not.toBe('ok');

    temporal = live;
    await t.store.close();
    const noStore = await healthOf(api.url);
    expect(noStore.status).toBe(503);
    expect((noStore.body.checks as Record<string, string>).store).not.toBe('ok');
    expect((noStore.body.checks as Record<string, string>).temporal).toBe('ok');
  } finally {
    await api.close();
    await live.connection.close();
    await t.cleanup().catch(() => undefined);
  }
});
