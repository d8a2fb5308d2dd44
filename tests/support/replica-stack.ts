/**
 * knot as it runs scaled out, every part a real process or server: two `knot server` and two
 * `knot worker` children (dist/cli/main.js, configured by KNOT_* env only) on one MariaDB database
 * (a fresh one on the test server, KNOT_TEST_MYSQL) with Redis for agent state (a key prefix of its
 * own on KNOT_TEST_REDIS), a Temporal namespace of its own on the integration run's dev server (so
 * the workers' schedules never meet another suite's), and the Nomad sandbox behind a recording
 * proxy (./nomad-recorder.ts). A TCP round-robin balancer (./tcp-balancer.ts) gives clients and
 * agents one URL in front of both APIs, and every replica's `server.url` is that URL. Each API
 * reaches Temporal through a proxy of its own that a test can stall (`holdTemporalOf`), to kill an
 * API between recording an operation and starting its workflow.
 *
 * Each API and worker is started, SIGKILLed and restarted by index; `runningSpaceWithAgent` starts a
 * space and runs its real `knot agent` dialling the balancer. Needs a fresh `dist/` (npx tsc -p
 * tsconfig.build.json) and the integration global setup (Temporal, the workflow bundle).
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { KnotClient, type Space } from '../../client';
import { freePort } from '../../temporal/dev-server';
import { SearchAttributes } from '../../temporal/names';
import { startSandbox, type Sandbox } from '../../nomad/sandbox';
import type { Store } from '../../store/store';
import { createTestStore, type TestStore } from './db';
import { seedJob, seedVolumes } from './harness';
import { serverProcess, type ServerProcess } from './server-process';
import { workerProcess, type WorkerProcess } from './worker-process';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer';
import { startNomadRecorder, type NomadRecorder } from './nomad-recorder';
import { agentTaskEnv, spawnAgent, type AgentProcess } from './agent-process';
import { until } from './wait';

export const REPLICA_ENCRYPT_KEY = Buffer.alloc(32, 9).toString('base64');
export const REPLICA_ADMIN_TOKEN = 'knot_replica_bootstrap_admin_token_0001';

export interface ReplicaStackOptions {
  /** replicas of each kind (default 2 APIs, 2 workers) */
  apis?: number;
  workers?: number;
  /** `server.schedules.auto_stop_interval` of the workers (default 1m); schedules are on */
  autoStopInterval?: string;
  /** more KNOT_* for every API / every worker */
  apiEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
}

export interface ReplicaStack {
  apis: ServerProcess[];
  workers: WorkerProcess[];
  balancer: TcpBalancer;
  /** the balancer's URL: what clients and agents use */
  url: string;
  apiUrl(i: number): string;
  startApi(i: number): Promise<void>;
  /** holds (true) or lets go what API `i` sends to Temporal: its workflow starts hang meanwhile */
  holdTemporalOf(i: number, held: boolean): void;
  /** bytes API `i` sent to Temporal that are being held (a call of it is hanging) */
  temporalHeldOf(i: number): number;
  killApi(i: number): Promise<void>;
  /** SIGKILL, then start again on the same port */
  restartApi(i: number): Promise<void>;
  startWorker(i: number): Promise<void>;
  killWorker(i: number): Promise<void>;
  restartWorker(i: number): Promise<void>;
  adminToken: string;
  /** the admin, through the balancer */
  admin: KnotClient;
  /** a user of role user and their token */
  user: { id: string; username: string; token: string };
  /** a client of API `i` (direct) or, without `i`, of the balancer; the user's token unless given */
  client(i?: number, token?: string): KnotClient;
  /** the seed template's name (job and volumes of examples/templates/debian) */
  template: string;
  /** the store as the test process sees it (the same MariaDB database) */
  store: Store;
  testStore: TestStore;
  /** the Redis the replicas keep agent state in, and their key prefix */
  redis: { url: string; prefix: string };
  sandbox: Sandbox;
  /** every Nomad call the workers (and APIs) made */
  nomad: NomadRecorder;
  /** a Temporal client on the stack's own namespace */
  temporal: Client;
  namespace: string;
  taskQueue: string;
  /** a space of the user's, started, with its real agent linked through the balancer */
  runningSpaceWithAgent(name: string, opts?: { body?: Record<string, unknown>; agentEnv?: Record<string, string> }): Promise<{ id: string; env: Record<string, string>; agent: AgentProcess }>;
  /** the space (via the balancer) once its phase is `phase` and its last operation succeeded */
  settled(id: string, phase: string, timeoutMs?: number): Promise<Space>;
  close(): Promise<void>;
}

/** A Temporal namespace of the stack's own with knot's search attributes, usable when this resolves. */
async function ownNamespace(address: string): Promise<{ namespace: string; connection: Connection }> {
  const connection = await Connection.connect({ address });
  const namespace = `knot-replicas-${randomBytes(4).toString('hex')}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('24h') });
  await until(`namespace ${namespace}`, () => connection.workflowService.describeNamespace({ namespace }).then(() => true), 30_000, 100);
  // 2 = KEYWORD (temporal.api.enums.v1.IndexedValueType)
  const searchAttributes = Object.fromEntries(Object.values(SearchAttributes).map((k) => [k.name, 2]));
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  const client = new Client({ connection, namespace });
  await until(`search attributes of ${namespace}`, async () => {
    await client.workflow.count(`${SearchAttributes.operation.name} IS NOT NULL`);
    return true;
  }, 30_000, 100);
  return { namespace, connection };
}

export async function startReplicaStack(opts: ReplicaStackOptions = {}): Promise<ReplicaStack> {
  const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS;
  const redisUrl = process.env.KNOT_TEST_REDIS;
  if (!address || !process.env.KNOT_TEST_WORKFLOW_BUNDLE) throw new Error('the replica stack needs the integration global setup (Temporal, the workflow bundle)');
  if (!redisUrl || !process.env.KNOT_TEST_MYSQL) throw new Error('the replica stack needs KNOT_TEST_MYSQL and KNOT_TEST_REDIS (scripts/services.sh)');
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const { namespace, connection } = await ownNamespace(address);
    const temporal = new Client({ connection, namespace });
    cleanups.push(async () => {
      // the schedules would keep firing on the shared dev server with no worker left
      for await (const s of temporal.schedule.list()) await temporal.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
      await connection.close();
    });
    const testStore = await createTestStore('mysql');
    cleanups.push(() => testStore.cleanup());
    const redisPrefix = `knot-replicas-${randomBytes(4).toString('hex')}:`;
    const redisHost = new URL(redisUrl).host;
    cleanups.push(async () => {
      const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await r.connect();
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
      await r.quit();
    });
    const sandbox = await startSandbox({ port: 0, allocRunningDelayMs: 60, healthyDelayMs: 40, claimReleaseDelayMs: 150 });
    cleanups.push(() => sandbox.close());
    const nomad = await startNomadRecorder(sandbox.url);
    cleanups.push(() => nomad.close());

    const nApis = opts.apis ?? 2;
    const nWorkers = opts.workers ?? 2;
    const ports: number[] = [];
    for (let i = 0; i < nApis; i++) ports.push(await freePort());
    const balancer = await startTcpBalancer(ports.map((port) => ({ host: '127.0.0.1', port })));
    cleanups.push(() => balancer.close());
    // each API reaches Temporal through a proxy of its own, which a test can stall (holdTemporalOf)
    const temporalTarget = { host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) };
    const temporalProxies: TcpBalancer[] = [];
    for (let i = 0; i < nApis; i++) {
      const proxy = await startTcpBalancer([temporalTarget]);
      cleanups.push(() => proxy.close());
      temporalProxies.push(proxy);
    }
    const taskQueue = `replicas-${randomBytes(4).toString('hex')}`;
    const storeEnv = {
      ...testStore.env,
      KNOT_SERVER_REDIS_ENABLED: 'true',
      KNOT_SERVER_REDIS_HOST: redisHost,
      KNOT_SERVER_REDIS_PREFIX: redisPrefix,
    };
    const common = {
      KNOT_SERVER_TEMPORAL_NAMESPACE: namespace,
      KNOT_SERVER_TEMPORAL_TASK_QUEUE: taskQueue,
      // every replica's public URL is the balancer's (what the spaces' agents dial)
      KNOT_SERVER_URL: balancer.url,
      KNOT_SERVER_WILDCARD_DOMAIN: '*.knot.test',
    };
    const apis = ports.map((port, i) =>
      serverProcess({
        port,
        temporalAddress: `127.0.0.1:${temporalProxies[i]!.port}`,
        nomadAddr: nomad.url,
        storeEnv,
        encryptKey: REPLICA_ENCRYPT_KEY,
        bootstrapToken: REPLICA_ADMIN_TOKEN,
        extraEnv: { ...common, ...opts.apiEnv },
      }),
    );
    const workers = Array.from({ length: nWorkers }, () =>
      workerProcess({
        taskQueue,
        temporalAddress: address,
        nomadAddr: nomad.url,
        storeEnv,
        encryptKey: REPLICA_ENCRYPT_KEY,
        nomadTimeout: '5s',
        extraEnv: {
          ...common,
          KNOT_LOG_FORMAT: 'json',
          KNOT_SERVER_SCHEDULES_ENABLED: 'true',
          KNOT_SERVER_SCHEDULES_AUTO_STOP_INTERVAL: opts.autoStopInterval ?? '1m',
          ...opts.workerEnv,
        },
      }),
    );
    cleanups.push(() => Promise.all([...apis, ...workers].map((p) => p.stop())));
    // all at once, as a deployment with several replicas starts them (migrations and bootstrap race)
    await Promise.all([...apis.map((a) => a.start()), ...workers.map((w) => w.start())]);

    const admin = new KnotClient({ url: balancer.url, token: REPLICA_ADMIN_TOKEN });
    const template = 'example';
    await admin.createTemplate({ name: template, description: 'seed 000 example', job: seedJob(), volumes: seedVolumes() } as never);
    const created = await admin.createUser({ username: 'alice', email: 'alice@example.com' } as never);
    const token = (await admin.createUserToken(created.id, { name: 'replicas' } as never)).token;
    const user = { id: created.id, username: 'alice', token };
    const agents: AgentProcess[] = [];
    cleanups.push(() => Promise.all(agents.map((a) => a.stop())));

    const client = (i?: number, tok: string = token) => new KnotClient({ url: i === undefined ? balancer.url : apis[i]!.url, token: tok });
    const settled: ReplicaStack['settled'] = (id, phase, timeoutMs = 60_000) =>
      until(`space ${id} ${phase}`, async () => {
        const s = await client().getSpace(id);
        return s.status.phase === phase && s.status.lastOperation?.status === 'succeeded' ? s : null;
      }, timeoutMs, 100);
    // A kill is done when the API's proxy to Temporal has seen its connections close: until then
    // letting a hold go (holdTemporalOf) would hand Temporal what the dead process had sent, and
    // a workflow start of a killed API would still arrive.
    const killApi = async (i: number): Promise<void> => {
      await apis[i]!.kill();
      await until(`API ${i}'s connections to Temporal to close`, () => temporalProxies[i]!.openTo(0) === 0, 10_000, 5);
    };
    const stack: ReplicaStack = {
      apis,
      workers,
      balancer,
      url: balancer.url,
      apiUrl: (i) => apis[i]!.url,
      startApi: (i) => apis[i]!.start(),
      holdTemporalOf: (i, held) => temporalProxies[i]!.hold(held),
      temporalHeldOf: (i) => temporalProxies[i]!.heldBytes,
      killApi,
      async restartApi(i) {
        await killApi(i);
        await apis[i]!.start();
      },
      startWorker: (i) => workers[i]!.start(),
      killWorker: (i) => workers[i]!.kill(),
      async restartWorker(i) {
        await workers[i]!.kill();
        await workers[i]!.start();
      },
      adminToken: REPLICA_ADMIN_TOKEN,
      admin,
      user,
      client,
      template,
      store: testStore.store,
      testStore,
      redis: { url: redisUrl, prefix: redisPrefix },
      sandbox,
      nomad,
      temporal,
      namespace,
      taskQueue,
      settled,
      async runningSpaceWithAgent(name, o = {}) {
        const c = client();
        const space = await c.createSpace({ name, template, ...o.body } as never);
        await c.startSpace(space.id);
        const running = await settled(space.id, 'running');
        const env = await agentTaskEnv(sandbox.url, running.status.nomadJobId!);
        const agent = spawnAgent(env, balancer.url, o.agentEnv);
        agents.push(agent);
        await until(`the agent of ${name} linked with its terminal`, async () => {
          const s = await c.getSpace(space.id);
          return s.status.agent.state === 'connected' && s.status.agent.services.terminal === true;
        }, 30_000, 100).catch((e: Error) => {
          throw new Error(`${e.message}\nagent output:\n${agent.output()}`);
        });
        return { id: space.id, env, agent };
      },
      close: cleanup,
    };
    return stack;
  } catch (e) {
    await cleanup();
    throw e;
  }
}
