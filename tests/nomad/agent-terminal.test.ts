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
import type { Space } from '../../client';
import { newId } from '../../core/names';
import { NomadClient } from '../../nomad/client';
import { openTerminal } from '../support/terminal';
import { until } from '../support/wait';
import { realNomadBinaries } from './agent';
import { startExecSpaceStack, type ExecSpaceStack } from './exec-space-stack';
import type { RealNomad } from './real-nomad';
import type { WorkerProcess } from '../support/worker-process';
import type { Harness as Api } from '../integration/api/harness';

const enabled = Boolean(realNomadBinaries() || process.env.KNOT_TEST_NOMAD_ADDR);
if (!enabled) console.log('agent-terminal skipped: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN (npm run test:nomad)');
const suite = enabled ? describe : describe.skip;

const ENCRYPT_KEY = Buffer.alloc(32, 11).toString('base64');
const marker = () => `M${Math.random().toString(36).slice(2, 10)}`;

suite('the real knot agent in a Nomad exec task', () => {
  let nomadAgent: RealNomad;
  let nomad: NomadClient;
  let worker: WorkerProcess;
  let stack: ExecSpaceStack;
  let api: Api;
  let token: string;
  let id: string;
  let jobId: string;
  const timings: Record<string, number> = {};

  /** the task's stderr/stdout from Nomad, for failure messages */
  const taskLogs = (): Promise<string> => stack.taskLogs(jobId);

  const space = (): Promise<Space> => api.client.as(token).getSpace(id);

  beforeAll(async () => {
    stack = await startExecSpaceStack({ queuePrefix: 'real-agent', encryptKey: ENCRYPT_KEY });
    ({ nomadAgent, nomad, worker, api } = stack);
    const username = `a${newId(Date.now()).slice(-8)}`;
    ({ token } = await api.user(username));
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
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
