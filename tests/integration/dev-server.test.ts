/** `knot dev`'s Temporal: the real dev server from the PyPI wheel, DB file, UI, search attributes. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, startDevServer } from '../../temporal/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../temporal/names';

it('starts with a database file, the Web UI and knot search attributes, and stops cleanly', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-dev-'));
  const dbFilename = path.join(dir, 'temporal.db');
  const uiPort = await freePort();
  const dev = await startDevServer({ dbFilename, uiPort });
  try {
    expect(existsSync(dbFilename)).toBe(true);
    const ui = await fetch(dev.uiUrl!);
    expect(ui.status).toBe(200);
    const conn = await Connection.connect({ address: dev.address });
    const res = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
    await conn.close();
    for (const sa of ALL_SEARCH_ATTRIBUTES) {
      expect(res.customAttributes?.[sa.name]).toBeDefined();
    }
  } finally {
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(dev.process.exitCode !== null || dev.process.signalCode !== null).toBe(true);
});
