/**
 * A whole knot backend for tests, every part real: a migrated store (SQLite, MariaDB or Redis), the
 * Nomad sandbox over HTTP, a worker on the shared Temporal dev server (own task queue), and the
 * LifecycleClient the API uses.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../nomad/sandbox';
import { NomadClient } from '../../nomad/client';
import { installQuietRuntime, type RunningWorker } from '../../worker/worker';
import { createBackend, serverSettings } from '../../worker/backend';
import type { LifecycleClient } from '../../temporal/lifecycle-client';
import type { ActivityDeps, ServerSettings } from '../../activities/deps';
import { loadConfig } from '../../core/config';
import { newId } from '../../core/names';
import { contentHash } from '../../core/versions';
import { templateContentSchema, type TemplateContentInput, type TemplateContent } from '../../core/template';
import type { Operation, Space } from '../../store/model';
import { createTestStore, type StoreKind, type TestStore } from './db';
import { until } from './wait';
import type { Store } from '../../store/store';

export const EXAMPLES = path.resolve(__dirname, '../../examples/templates');
export const seedJob = () => readFileSync(path.join(EXAMPLES, 'debian/job.nomad.hcl'), 'utf8');
export const seedVolumes = () => readFileSync(path.join(EXAMPLES, 'debian/volumes.yaml'), 'utf8');

/** What `knot worker` derives from a configuration with only these keys set (the rest at their defaults). */
export const testSettings: ServerSettings = serverSettings(
  loadConfig('', { KNOT_ENCRYPT: Buffer.alloc(32, 7).toString('base64'), KNOT_SERVER_WILDCARD_DOMAIN: '*.knot.test', KNOT_SERVER_AGENT_ENDPOINT: '127.0.0.1:3010' }),
);

export interface Harness {
  kind: StoreKind;
  store: Store;
  testStore: TestStore;
  sandbox: Sandbox;
  nomad: NomadClient;
  client: Client;
  lifecycle: LifecycleClient;
  taskQueue: string;
  worker: Worker | null;
  deps: ActivityDeps;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  sandbox?: SandboxOptions;
  startWorker?: boolean;
  /** give the sweep activities the LifecycleClient and Temporal, as `knot worker` does (default false) */
  sweepsThroughTemporal?: boolean;
}

export async function startHarness(kind: StoreKind, opts: HarnessOptions = {}): Promise<Harness> {
  installQuietRuntime();
  const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS;
  const bundle = process.env.KNOT_TEST_WORKFLOW_BUNDLE;
  if (!address || !bundle) throw new Error('integration tests need the global setup (run with `npm test`)');
  const testStore = await createTestStore(kind);
  const sandbox = await startSandbox({ port: 0, allocRunningDelayMs: 60, healthyDelayMs: 40, claimReleaseDelayMs: 150, ...opts.sandbox });
  const nomad = new NomadClient({ addr: sandbox.url, timeoutMs: 3000 });
  const taskQueue = `test-${randomBytes(5).toString('hex')}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const backend = createBackend({
    store: testStore.store,
    nomad,
    client,
    taskQueue,
    settings: testSettings,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 20,
    sweepsThroughTemporal: opts.sweepsThroughTemporal ?? false,
  });
  const { lifecycle, deps } = backend;

  let workerConn: NativeConnection | null = null;
  let running: RunningWorker | null = null;
  const h: Harness = {
    kind,
    store: testStore.store,
    testStore,
    sandbox,
    nomad,
    client,
    lifecycle,
    taskQueue,
    worker: null,
    deps,
    async startWorker() {
      workerConn ??= await NativeConnection.connect({ address });
      running = await backend.runWorker({ connection: workerConn, namespace: 'default', workflowBundlePath: bundle });
      h.worker = running.worker;
    },
    async stopWorker() {
      await running?.stop();
      h.worker = null;
      running = null;
    },
    async close() {
      await h.stopWorker();
      await workerConn?.close();
      await connection.close();
      await sandbox.close();
      await testStore.cleanup();
    },
  };
  if (opts.startWorker !== false) await h.startWorker();
  return h;
}

let userCounter = 0;
export async function seedUser(store: Store, username = `user${++userCounter}`, role: 'admin' | 'user' = 'user'): Promise<{ id: string; username: string }> {
  const now = Date.now();
  const user = await store.users.insert({ id: newId(now), username, email: `${username}@example.com`, timezone: 'Europe/Berlin', role, active: true }, now);
  return { id: user.id, username };
}

/** Stores a template version directly (the API path is tested separately). */
export async function seedTemplate(store: Store, input: TemplateContentInput, version = '1.0.0'): Promise<{ id: string; version: string; hash: string; content: TemplateContent }> {
  const content = templateContentSchema.parse(input);
  const hash = contentHash(content as unknown as Record<string, unknown>);
  const existing = await store.templates.getByName(content.name);
  const meta = { name: content.name, displayName: content.displayName ?? '', description: content.description ?? '', type: content.type, groups: content.groups ?? [] };
  if (existing) {
    await store.templates.addVersion(existing.id, existing.latestVersion, meta, { versionId: newId(Date.now()), version, contentHash: hash, content, createdBy: null }, Date.now());
    return { id: existing.id, version, hash, content };
  }
  const id = newId(Date.now());
  await store.templates.insert(id, meta, { versionId: newId(Date.now()), version, contentHash: hash, content, createdBy: null }, Date.now());
  return { id, version, hash, content };
}

/** Polls the store until the operation is terminal (the condition, not a fixed sleep). */
export async function waitForOperation(store: Store, operationId: string, timeoutMs = 60_000): Promise<Operation> {
  let last: Operation | null = null;
  return until(
    `operation ${operationId} to finish`,
    async () => {
      last = await store.operations.get(operationId);
      return last && ['succeeded', 'failed', 'cancelled'].includes(last.status) ? last : null;
    },
    timeoutMs,
    25,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; still ${last?.status}`);
  });
}

export async function spaceOf(store: Store, id: string): Promise<Space> {
  const s = await store.spaces.get(id);
  if (!s) throw new Error(`space ${id} missing`);
  return s;
}
