/** The document served at /api/v1/openapi.json includes the agent route (served by its own router). */
import pino from 'pino';
import { createApp } from '../../../api/app';
import { loadConfig } from '../../../core/config';
import { createTestStore } from '../../support/db';

it('serves the agent route in the OpenAPI document', async () => {
  const t = await createTestStore('sqlite');
  const app = createApp({
    store: t.store,
    config: loadConfig('', {}),
    logger: pino({ level: 'silent' }),
    lifecycle: { startOperation: () => Promise.reject(new Error('unused')), createSpace: () => Promise.reject(new Error('unused')) },
    nomad: { parseJob: async () => ({}) },
    health: { checks: {} },
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const port = (server.address() as { port: number }).port;
    const doc = (await (await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.paths['/api/v1/agents/{spaceId}/state']?.post?.responses).toHaveProperty('204');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(25);
  } finally {
    server.close();
    await t.cleanup();
  }
});
