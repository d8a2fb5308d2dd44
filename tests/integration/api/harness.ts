/**
 * A real API for tests: a fresh migrated store (SQLite, MariaDB or Redis), the Nomad sandbox for job
 * parsing, the real LifecycleClient on the integration run's Temporal dev server (no worker: tests
 * here only exercise paths that refuse before a workflow runs), and an HTTP server on an ephemeral
 * port, called through the typed client (client/): `client` for typed calls, `call` for tests of
 * the protocol itself (raw bodies, content types, status codes).
 */
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type KnotConfig } from '../../../core/config';
import { newId } from '../../../core/names';
import { bootstrapAdmin, issueToken } from '../../../api/auth';
import { startApiServer, type ApiServer } from '../../../api/server';
import type { AppDeps, LifecyclePort } from '../../../api/context';
import { NomadClient } from '../../../nomad/client';
import { startSandbox, type Sandbox } from '../../../nomad/sandbox';
import { createLifecycleClient } from '../../../temporal/lifecycle-client';
import type { User } from '../../../store/model';
import { createTestStore, type StoreKind } from '../../support/db';
import { seedJob, seedVolumes } from '../../support/harness';
import type { Store } from '../../../store/store';
import { KnotClient } from '../../../client';

export const ENCRYPT_KEY = Buffer.alloc(32, 7).toString('base64');

export interface Harness {
  url: string;
  /** the agent links the API holds */
  links: ApiServer['links'];
  store: Store;
  config: KnotConfig;
  adminToken: string;
  lifecycle: LifecyclePort;
  /** the typed client with the admin token; `.as(token)` for another caller */
  client: KnotClient;
  /** everything the store holds, raw (see TestStore.rawDump); only for a harness with its own store */
  rawDump(): Promise<string>;
  /** creates a user (role user unless said) and a token for them */
  user(username: string, role?: 'admin' | 'user'): Promise<{ user: User; token: string }>;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: string | Buffer; contentType?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

export interface HarnessOptions {
  config?: Partial<Record<string, string>>;
  authFailures?: { max: number; windowMs: number };
  lifecycle?: LifecyclePort;
  health?: AppDeps['health'];
  events?: AppDeps['events'];
  clock?: () => number;
  /** run on an existing backend (tests/support/harness: store, sandbox, worker) instead of a fresh one */
  backend?: { store: Store; sandboxUrl: string; lifecycle: LifecyclePort };
  metrics?: AppDeps['metrics'];
  /** listen on this port (a restart test brings the API back where agents dial); default ephemeral */
  port?: number;
  agentLinks?: AppDeps['agentLinks'];
  sshKeysChanged?: AppDeps['sshKeysChanged'];
  /** the built web UI to serve (default dist/web when built) */
  webRoot?: string | null;
}

let temporalClient: Client | null = null;
async function temporal(): Promise<Client> {
  if (!temporalClient) {
    const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS;
    if (!address) throw new Error('KNOT_TEST_TEMPORAL_ADDRESS is not set (integration globalSetup starts Temporal)');
    temporalClient = new Client({ connection: await Connection.connect({ address }), namespace: 'default' });
  }
  return temporalClient;
}

export async function closeTemporal(): Promise<void> {
  await temporalClient?.connection.close();
  temporalClient = null;
}

export async function startHarness(kind: StoreKind, opts: HarnessOptions = {}): Promise<Harness> {
  const owned = opts.backend ? null : await createTestStore(kind);
  const store = opts.backend?.store ?? owned!.store;
  const sandbox: Sandbox | null = opts.backend ? null : await startSandbox({ port: 0 });
  const sandboxUrl = opts.backend?.sandboxUrl ?? sandbox!.url;
  const config = loadConfig('', { KNOT_ENCRYPT: ENCRYPT_KEY, KNOT_BOOTSTRAP_TOKEN: 'knot_test_bootstrap_admin_token_0001', ...opts.config });
  const logger = pino({ level: 'silent' });
  const boot = await bootstrapAdmin(store, config, logger);
  const adminToken = boot.generatedToken ?? config.server.bootstrap_token;
  const lifecycle =
    opts.lifecycle ?? opts.backend?.lifecycle ?? createLifecycleClient(await temporal(), store, { taskQueue: `api-test-${newId(Date.now())}` });
  const nomad = new NomadClient({ addr: sandboxUrl });
  const server: ApiServer = await startApiServer({
    store,
    config,
    logger,
    lifecycle,
    nomad: { parseJob: (hcl) => nomad.parseJob(hcl) },
    health: opts.health ?? { checks: { store: async () => true } },
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.authFailures ? { authFailures: opts.authFailures } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.agentLinks ? { agentLinks: opts.agentLinks } : {}),
    ...(opts.sshKeysChanged ? { sshKeysChanged: opts.sshKeysChanged } : {}),
    ...(opts.webRoot !== undefined ? { webRoot: opts.webRoot } : {}),
  }, opts.port !== undefined ? { port: opts.port } : {});
  const client = new KnotClient({ url: server.url, token: adminToken });
  const call: Harness['call'] = async (method, path, o = {}) => {
    const raw = o.raw === undefined ? undefined : typeof o.raw === 'string' ? o.raw : new Uint8Array(o.raw);
    const res = await client.raw<Record<string, unknown>>(method, path, {
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(raw !== undefined ? { raw } : {}),
      ...(o.contentType ? { contentType: o.contentType } : {}),
      ...(o.headers ? { headers: o.headers } : {}),
    });
    return { status: res.status, headers: res.headers, body: res.body ?? {}, text: res.text };
  };
  return {
    url: server.url,
    links: server.links,
    store,
    rawDump: () => {
      if (!owned) throw new Error('rawDump needs the harness to own its store');
      return owned.rawDump();
    },
    config,
    adminToken,
    lifecycle,
    client,
    async user(username, role = 'user') {
      const now = Date.now();
      const user = await store.users.insert({ id: newId(now), username, email: `${username}@example.com`, timezone: 'UTC', role, active: true }, now);
      const { secret } = await issueToken(store, { id: newId(now), userId: user.id, name: 'test', expiresAt: null }, now);
      return { user, token: secret };
    },
    call,
    async close() {
      await server.close();
      await sandbox?.close();
      await owned?.cleanup();
    },
  };
}

/**
 * Everything the store holds but the audit log (which records refusals on purpose), read through
 * the store interface so it means the same on every driver: a request that changed nothing leaves
 * it equal.
 */
export async function storeSnapshot(store: Store): Promise<Record<string, unknown>> {
  // last_used_at moves on every authenticated call: not a change the request made
  const users = await store.users.list();
  const tokens = await Promise.all(users.map(async (u) => (await store.tokens.listOfUser(u.id)).map((t) => ({ ...t, lastUsedAt: undefined }))));
  const templates = [...(await store.templates.list())];
  const versions = await Promise.all(templates.map((t) => store.templates.listVersions(t.id)));
  const spaces = await store.spaces.list({ limit: 100_000 });
  const ids = spaces.map((s) => s.id);
  return {
    users,
    groups: await store.groups.list(),
    tokens,
    templates,
    versions,
    variables: await store.variables.list(),
    spaces,
    volumes: [...(await store.volumes.listOfSpaces(ids)).entries()],
    operations: await Promise.all(ids.map((id) => store.operations.listOfSpace(id, 1000))),
  };
}

/** The seed 000 template (job and volume definition verbatim), kept once in examples/templates/debian. */
export const SEED_JOB = seedJob();
export const SEED_VOLUMES = seedVolumes();

export function seedTemplate(name = 'example', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, description: 'seed 000 example', job: SEED_JOB, volumes: SEED_VOLUMES, ...extra };
}
