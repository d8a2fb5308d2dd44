/**
 * The real `knot agent` in a real Nomad `exec` task (issue 19): a space of the debian-exec example
 * template fetches the agent from the API's /agent/ downloads (the task's `artifact`), runs it on
 * the client's Node.js inside the task's chroot, and links to the API; the Terminal service
 * appears; a terminal opened through the API (the typed client's TerminalConnection, as the web
 * page uses it) runs its shell inside the task — the task's home, the task's chroot, the
 * allocation's NOMAD_ALLOC_ID. A stop ends the link and the job; the home volume stays.
 * Only `npm run test:nomad` runs it, when KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN name the binaries.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Space } from '../../client';
import { newId } from '../../core/names';
import { agentDownloadsRoot } from '../../api/agent-downloads';
import { NomadClient } from '../../nomad/client';
import { createLifecycleClient } from '../../temporal/lifecycle-client';
import { createTestStore, type TestStore } from '../support/db';
import { EXAMPLES } from '../support/harness';
import { TEST_LINK_TIMINGS } from '../support/agent-stack';
import { openTerminal } from '../support/terminal';
import { until } from '../support/wait';
import { workerProcess, type WorkerProcess } from '../support/worker-process';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { freePort, realNomadBinaries } from './agent';
import { startRealNomad, type RealNomad } from './real-nomad';

const enabled = Boolean(realNomadBinaries() || process.env.KNOT_TEST_NOMAD_ADDR);
if (!enabled) console.log('agent-terminal skipped: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN (npm run test:nomad)');
const suite = enabled ? describe : describe.skip;

const ENCRYPT_KEY = Buffer.alloc(32, 11).toString('base64');
const readExample = (file: string) => readFileSync(path.join(EXAMPLES, 'debian-exec', file), 'utf8');
const marker = () => `M${Math.random().toString(36).slice(2, 10)}`;

suite('the real knot agent in a Nomad exec task', () => {
  let nomadAgent: RealNomad;
  let nomad: NomadClient;
  let db: TestStore;
  let worker: WorkerProcess;
  let temporal: Client;
  let api: Api;
  let token: string;
  let id: string;
  let jobId: string;
  const timings: Record<string, number> = {};

  /** the task's stderr/stdout from Nomad, for failure messages */
  async function taskLogs(): Promise<string> {
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
  }

  const space = (): Promise<Space> => api.client.as(token).getSpace(id);

  beforeAll(async () => {
    if (!agentDownloadsRoot()) throw new Error('no agent downloads in dist/agent-downloads: run `node scripts/build-agent.mjs` (npm run test:nomad builds them)');
    nomadAgent = await startRealNomad();
    nomad = new NomadClient({ addr: nomadAgent.url, timeoutMs: 10_000 });
    db = await createTestStore('sqlite');
    // exec tasks share the host's network: the API on loopback is reachable from inside the task,
    // and the worker renders the same URL into the job (KNOT_SERVER and the artifact's source)
    const port = await freePort();
    const serverUrl = `http://127.0.0.1:${port}`;
    const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS!;
    const taskQueue = `real-agent-${newId(Date.now())}`;
    worker = workerProcess({
      taskQueue,
      temporalAddress: address,
      nomadAddr: nomadAgent.url,
      storeEnv: db.env,
      encryptKey: ENCRYPT_KEY,
      nomadTimeout: '10s',
      extraEnv: { KNOT_SERVER_URL: serverUrl },
    });
    await worker.start();
    temporal = new Client({ connection: await Connection.connect({ address }), namespace: 'default' });
    const lifecycle = createLifecycleClient(temporal, db.store, { taskQueue });
    api = await startApi('sqlite', {
      port,
      backend: { store: db.store, sandboxUrl: nomadAgent.url, lifecycle },
      config: { KNOT_ENCRYPT: ENCRYPT_KEY, KNOT_SERVER_URL: serverUrl },
      agentLinks: TEST_LINK_TIMINGS,
    });
    expect(api.url).toBe(serverUrl);
    const username = `a${newId(Date.now()).slice(-8)}`;
    ({ token } = await api.user(username));
    const tpl = await api.call('POST', '/api/v1/templates', { body: { name: 'debian-exec', description: 'seed 000 on exec', job: readExample('job.nomad.hcl'), volumes: readExample('volumes.yaml') } });
    expect(tpl.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await temporal?.connection.close();
    await worker?.stop();
    await db?.cleanup();
    await nomadAgent?.stop();
    if (Object.keys(timings).length > 0) console.log(`real Nomad agent timings (ms): ${JSON.stringify(timings)}`);
  }, 60_000);

  it('a started space runs the agent in its task; it links and offers the Terminal', async () => {
    const created = await api.client.as(token).createSpace({ name: 'agent', template: 'debian-exec' } as never);
    id = created.id;
    const t0 = Date.now();
    await api.client.as(token).startSpace(id);
    const running = await until('the space to run', async () => {
      const s = await space();
      if (s.status.lastOperation?.status === 'failed') throw new Error(`start failed: ${JSON.stringify(s.status.lastOperation)}`);
      return s.status.phase === 'running' && s.status.lastOperation?.status === 'succeeded' ? s : null;
    }, 180_000, 200).catch(async (e: Error) => {
      throw new Error(`${e.message}\nworker: ${worker.output().slice(-1500)}\n${await taskLogs()}`);
    });
    timings['start → running'] = Date.now() - t0;
    jobId = running.status.nomadJobId!;
    const connected = await until('the agent to link', async () => {
      const s = await space();
      return s.status.agent.state === 'connected' && s.status.agent.services.terminal === true ? s : null;
    }, 60_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await taskLogs()}`);
    });
    timings['start → agent connected'] = Date.now() - t0;
    expect(connected.status.agent).toMatchObject({ state: 'connected', connected: true, services: { terminal: true } });
    expect(api.links.get(id)).toBeTruthy();
  }, 300_000);

  it('a terminal through the API runs its shell inside the task: its home, its chroot, its allocation', async () => {
    const allocs = await nomad.jobAllocations(jobId);
    const alloc = allocs.find((a) => a.ClientStatus === 'running');
    expect(alloc).toBeDefined();
    const node = (await (await fetch(`${nomadAgent.url}/v1/node/${alloc!.NodeID}`)).json()) as { Name: string };

    const t = openTerminal(api.url, id, token, { cols: 120, rows: 40 });
    try {
      await t.waitStatus('open', 30_000);
      const m = marker();
      // the marker goes in as an argument: the echo of the command line never matches the answer
      t.conn.send(`printf '%s<%s|%s|%s|%s|%s>\\n' ${m} "$(pwd)" "$HOME" "$(hostname)" "$NOMAD_ALLOC_ID" "$(id -un)"\r`);
      const [, pwd, home, hostname, allocId, user] = await t.waitFor(new RegExp(`${m}<([^|\\r\\n]*)\\|([^|\\r\\n]*)\\|([^|\\r\\n]*)\\|([^|\\r\\n]*)\\|([^>\\r\\n]*)>`), 20_000);
      t.conn.send(`echo ${m}-ls; ls -1 / | tr '\\n' ' '; echo '<${m}-end>'\r`);
      const [, root] = await t.waitFor(new RegExp(`${m}-ls\\r\\n([^<]*)<${m}-end>`), 20_000);
      console.log(`shell in the task: user=${user} pwd=${pwd} HOME=${home} hostname=${hostname} NOMAD_ALLOC_ID=${allocId} (alloc ${alloc!.ID}, node ${node.Name}); ls /: ${root!.trim()}`);

      // the allocation's own environment: the shell runs inside the task Nomad started
      expect(allocId).toBe(alloc!.ID);
      // the task's home, not the test's working directory
      expect(pwd).toBe(home);
      expect(pwd).not.toBe(process.cwd());
      expect(home).toBeTruthy();
      // exec tasks share the host's network and UTS namespaces: the node's name
      expect(hostname).toBe(node.Name);
      // the task's chroot: Nomad's task dirs, and none of the host's other top-level folders
      const entries = root!.trim().split(/\s+/);
      expect(entries).toEqual(expect.arrayContaining(['alloc', 'local', 'secrets', 'home']));
      expect(entries).not.toContain('work');
      expect(entries).not.toContain('root');
      // the home volume is mounted where the task logs its starts
      t.conn.send(`echo "${m}-log<$(wc -l < /home/starts.log)>"\r`);
      const [, lines] = await t.waitFor(new RegExp(`${m}-log<(\\d+)>`), 20_000);
      expect(Number(lines)).toBe(1);
    } finally {
      t.close();
    }
  }, 120_000);

  it('stop ends the link and the job; the home volume and its data stay', async () => {
    const t = openTerminal(api.url, id, token);
    await t.waitStatus('open', 30_000);
    const t0 = Date.now();
    await api.client.as(token).stopSpace(id);
    await until('the space to stop', async () => {
      const s = await space();
      return s.status.phase === 'stopped' && s.status.lastOperation?.status === 'succeeded' ? s : null;
    }, 120_000, 200);
    timings['stop → stopped'] = Date.now() - t0;
    const closed = await until('the terminal to close for good', () => t.statuses.find((x) => x.status === 'closed'), 30_000, 50);
    expect(closed.detail.kind).toBe('not-running');
    await until('the link to end', () => !api.links.get(id), 30_000, 50);
    expect((await space()).status.agent.state).toBe('disconnected');
    const jobs = (await nomad.listJobs({ meta: true })).filter((j) => j.Meta?.knot_space_id === id && !j.Stop);
    expect(jobs).toEqual([]);
    const vol = await nomad.readCsiVolume(`debian_${id}_home`);
    expect(vol?.ID).toBe(`debian_${id}_home`);
    const log = path.join(nomadAgent.csiStateDir, vol!.ExternalID, 'starts.log');
    expect(existsSync(log)).toBe(true);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  }, 180_000);
});
