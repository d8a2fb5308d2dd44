/**
 * What the real-Nomad suites with a running `knot agent` share: a real Nomad agent, a store, a
 * `knot worker` process and the API on one loopback URL — exec tasks share the host's network, so
 * the API is reachable from inside the task, and the worker renders the same URL into the job
 * (KNOT_SERVER and the artifact's source) — plus the debian-exec example template.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newId } from '../../core/names';
import { agentDownloadsRoot } from '../../api/agent-downloads';
import { NomadClient } from '../../nomad/client';
import { createLifecycleClient } from '../../temporal/lifecycle-client';
import { createTestStore, type TestStore } from '../support/db';
import { EXAMPLES } from '../support/harness';
import { TEST_LINK_TIMINGS } from '../support/agent-stack';
import { workerProcess, type WorkerProcess } from '../support/worker-process';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { freePort } from './agent';
import { startRealNomad, type RealNomad } from './real-nomad';

export const EXEC_TEMPLATE = 'debian-exec';

export interface ExecSpaceStack {
  nomadAgent: RealNomad;
  nomad: NomadClient;
  db: TestStore;
  worker: WorkerProcess;
  temporal: Client;
  api: Api;
  /** the task's stdout/stderr of the job's newest allocation, for failure messages */
  taskLogs(jobId: string | undefined): Promise<string>;
  close(): Promise<void>;
}

export async function startExecSpaceStack(opts: { queuePrefix: string; encryptKey: string; chrootEnv?: Record<string, string>; apiConfig?: Record<string, string> }): Promise<ExecSpaceStack> {
  if (!agentDownloadsRoot()) throw new Error('no agent downloads in dist/agent-downloads: run `node scripts/build-agent.mjs` (npm run test:nomad builds them)');
  const nomadAgent = await startRealNomad(opts.chrootEnv ? { chrootEnv: opts.chrootEnv } : {});
  const nomad = new NomadClient({ addr: nomadAgent.url, timeoutMs: 10_000 });
  const db = await createTestStore('sqlite');
  const port = await freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS!;
  const taskQueue = `${opts.queuePrefix}-${newId(Date.now())}`;
  const worker = workerProcess({
    taskQueue,
    temporalAddress: address,
    nomadAddr: nomadAgent.url,
    storeEnv: db.env,
    encryptKey: opts.encryptKey,
    nomadTimeout: '10s',
    extraEnv: { KNOT_SERVER_URL: serverUrl },
  });
  await worker.start();
  const temporal = new Client({ connection: await Connection.connect({ address }), namespace: 'default' });
  const api = await startApi('sqlite', {
    port,
    backend: { store: db.store, sandboxUrl: nomadAgent.url, lifecycle: createLifecycleClient(temporal, db.store, { taskQueue }) },
    config: { KNOT_ENCRYPT: opts.encryptKey, KNOT_SERVER_URL: serverUrl, ...opts.apiConfig },
    agentLinks: TEST_LINK_TIMINGS,
  });
  if (api.url !== serverUrl) throw new Error(`the API listens at ${api.url}, not ${serverUrl}`);
  const read = (file: string) => readFileSync(path.join(EXAMPLES, EXEC_TEMPLATE, file), 'utf8');
  const tpl = await api.call('POST', '/api/v1/templates', { body: { name: EXEC_TEMPLATE, description: 'seed 000 on exec', job: read('job.nomad.hcl'), volumes: read('volumes.yaml') } });
  if (tpl.status !== 201) throw new Error(`template: ${tpl.status} ${tpl.text}`);

  return {
    nomadAgent,
    nomad,
    db,
    worker,
    temporal,
    api,
    async taskLogs(jobId) {
      try {
        const allocs = jobId ? await nomad.jobAllocations(jobId) : [];
        const out: string[] = [];
        for (const a of allocs.slice(-1)) {
          for (const type of ['stdout', 'stderr']) {
            const res = await fetch(`${nomadAgent.url}/v1/client/fs/logs/${a.ID}?task=debian&type=${type}&plain=true&origin=end&offset=3000`);
            out.push(`--- ${type} of ${a.ID} (${a.ClientStatus}) ---\n${await res.text()}`);
          }
        }
        return out.join('\n');
      } catch (e) {
        return `(no task logs: ${(e as Error).message})`;
      }
    },
    async close() {
      await api.close();
      await temporal.connection.close();
      await worker.stop();
      await db.cleanup();
      await nomadAgent.stop();
    },
  };
}
