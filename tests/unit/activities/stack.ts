/**
 * What activities see under MockActivityEnvironment in these tests: a real SQLite store and a real
 * NomadClient talking to the sandbox over HTTP. Registers its own beforeAll/afterAll.
 */
import pino from 'pino';
import type { ActivityDeps } from '../../../activities/deps';
import { NomadClient } from '../../../nomad/client';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../../nomad/sandbox';
import { createTestStore, type TestStore } from '../../support/db';
import { testSettings } from '../../support/harness';

export interface ActivityStack {
  readonly db: TestStore;
  readonly nomad: NomadClient;
  deps(): ActivityDeps;
}

export function useActivityStack(sandboxOptions: SandboxOptions = { port: 0 }): ActivityStack {
  let db: TestStore | undefined;
  let sandbox: Sandbox | undefined;
  let nomad: NomadClient | undefined;
  beforeAll(async () => {
    db = await createTestStore('sqlite');
    sandbox = await startSandbox(sandboxOptions);
    nomad = new NomadClient({ addr: sandbox.url, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await nomad?.close();
    await sandbox?.close();
    await db?.cleanup();
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the activity stack starts in beforeAll');
    return v;
  };
  return {
    get db() {
      return ready(db);
    },
    get nomad() {
      return ready(nomad);
    },
    deps: () => ({ store: ready(db).store, nomad: ready(nomad), settings: testSettings, logger: pino({ level: 'silent' }), clock: Date.now }),
  };
}
