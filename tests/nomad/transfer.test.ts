/**
 * Space transfer on a real Nomad agent: a stopped debian-exec space of alice's, with a marker file
 * written onto its CSI home volume from inside the space (a shell in the task, through the API's
 * terminal and the real knot agent), is transferred to bob (a user made through the API). bob's
 * start registers the job under bob's job name (the template's job is `<space>-<username>`), the
 * old job name is unknown to Nomad before, during and after that start, the volume is the same
 * Nomad volume (not re-created) and the marker is still there, read from a shell in bob's task.
 * A running space's transfer is refused (409) and changes nothing.
 * Only `npm run test:nomad` runs it, when KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN name the binaries.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KnotApiError, type KnotClient, type Space } from '../../client';
import { newId } from '../../core/names';
import { NomadClient } from '../../nomad/client';
import { openTerminal } from '../support/terminal';
import { until } from '../support/wait';
import { realNomadBinaries } from './agent';
import { EXEC_TEMPLATE, startExecSpaceStack, type ExecSpaceStack } from './exec-space-stack';
import type { RealNomad } from './real-nomad';
import type { Harness as Api } from '../integration/api/harness';

const enabled = Boolean(realNomadBinaries() || process.env.KNOT_TEST_NOMAD_ADDR);
if (!enabled) console.log('transfer skipped: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN (npm run test:nomad)');
const suite = enabled ? describe : describe.skip;

const ENCRYPT_KEY = Buffer.alloc(32, 13).toString('base64');
const MARKER_FILE = '/home/transfer-marker.txt';

suite('transfer of a stopped space on a real Nomad agent', () => {
  let stack: ExecSpaceStack;
  let nomadAgent: RealNomad;
  let nomad: NomadClient;
  let api: Api;
  let alice: KnotClient;
  let bob: KnotClient;
  let bobToken: string;
  let aliceToken: string;
  // unique, so that the job names do not meet another run's on an agent given by address
  const spaceName = `xfer${newId(Date.now()).slice(-6).toLowerCase()}`;
  const aliceJob = `${spaceName}-alice`;
  const bobJob = `${spaceName}-bob`;
  const marker = `M${Math.random().toString(36).slice(2, 12)}`;
  let id: string;
  let volumeNomadId: string;
  let volumeExternalId: string;

  /** Nomad's answer for a job name: its HTTP status (404 when Nomad does not know it) */
  const jobStatus = async (name: string): Promise<number> => (await fetch(`${nomadAgent.url}/v1/job/${encodeURIComponent(name)}`)).status;

  /** waits until the space settles in `phase` with its last operation succeeded; a failed one fails at once */
  const settled = (c: KnotClient, phase: 'running' | 'stopped', timeoutMs: number): Promise<Space> =>
    until(`the space to be ${phase}`, async () => {
      const s = await c.getSpace(id);
      if (s.status.lastOperation?.status === 'failed') throw new Error(`operation failed: ${JSON.stringify(s.status.lastOperation)}`);
      return s.status.phase === phase && s.status.lastOperation?.status === 'succeeded' ? s : null;
    }, timeoutMs, 200).catch(async (e: Error) => {
      throw new Error(`${e.message}\nworker: ${stack.worker.output().slice(-1500)}\n${await stack.taskLogs((await c.getSpace(id).catch(() => null))?.status.nomadJobId ?? undefined)}`);
    });

  const agentLinked = (c: KnotClient): Promise<Space> =>
    until('the agent to link with its terminal', async () => {
      const s = await c.getSpace(id);
      return s.status.agent.state === 'connected' && s.status.agent.services.terminal === true ? s : null;
    }, 90_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await stack.taskLogs((await c.getSpace(id)).status.nomadJobId ?? undefined)}`);
    });

  /** runs `command` in a shell inside the space's task (the API's terminal → the knot agent) and returns what it printed between tag<…> */
  const inSpace = async (token: string, command: string): Promise<string> => {
    const t = openTerminal(api.url, id, token, { cols: 160, rows: 40 });
    try {
      await t.waitStatus('open', 30_000);
      const tag = `T${Math.random().toString(36).slice(2, 10)}`;
      // the tag goes in as an argument: the terminal's echo of the command line never matches the answer
      t.conn.send(`printf '%s<%s>\\n' ${tag} "$(${command})"\r`);
      const [, out] = await t.waitFor(new RegExp(`${tag}<([^>\\r\\n]*)>`), 30_000);
      return out!;
    } finally {
      t.close();
    }
  };

  beforeAll(async () => {
    stack = await startExecSpaceStack({ queuePrefix: 'real-transfer', encryptKey: ENCRYPT_KEY });
    ({ nomadAgent, nomad, api } = stack);
    // both users through the API (the admin's typed client), each with a token of their own
    const tokenFor = async (username: string): Promise<string> => {
      await api.client.createUser({ username, email: `${username}@example.com` });
      return (await api.client.createUserToken(username, { name: 'transfer-test' })).token;
    };
    aliceToken = await tokenFor('alice');
    bobToken = await tokenFor('bob');
    alice = api.client.as(aliceToken);
    bob = api.client.as(bobToken);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  }, 90_000);

  it('alice starts a space and writes a marker onto its CSI volume from inside the space, then stops it', async () => {
    const created = await alice.createSpace({ name: spaceName, template: EXEC_TEMPLATE } as never);
    id = created.id;
    await alice.startSpace(id);
    const running = await settled(alice, 'running', 240_000);
    expect(running.status.nomadJobId).toBe(aliceJob);
    expect(await jobStatus(aliceJob)).toBe(200);
    await agentLinked(alice);

    // a shell inside alice's task writes the marker onto the mounted home volume and reads it back
    expect(await inSpace(aliceToken, `printf '%s' ${marker} > ${MARKER_FILE} && sync && cat ${MARKER_FILE}`)).toBe(marker);
    expect(await inSpace(aliceToken, 'echo "$KNOT_USER"')).toBe('alice');

    await alice.stopSpace(id);
    const stopped = await settled(alice, 'stopped', 180_000);
    expect(await jobStatus(aliceJob)).toBe(404);
    expect(stopped.status.volumes).toHaveLength(1);
    volumeNomadId = stopped.status.volumes[0]!.nomadId ?? stopped.status.volumes[0]!.id;
    expect(volumeNomadId).toBe(`debian_${id}_home`);
    const vol = await nomad.readCsiVolume(volumeNomadId);
    expect(vol?.ID).toBe(volumeNomadId);
    volumeExternalId = vol!.ExternalID;
    // the marker is on the volume's storage (the hostpath plugin's data directory) while no task runs
    const onHost = path.join(nomadAgent.csiStateDir, volumeExternalId, path.basename(MARKER_FILE));
    expect(existsSync(onHost)).toBe(true);
    expect(readFileSync(onHost, 'utf8')).toBe(marker);
  }, 600_000);

  it('transferred to bob, the next start runs under bob\'s job name; alice\'s job name never appears; the marker is still there', async () => {
    const moved = await alice.transferSpace(id, { to: 'bob' });
    expect(moved).toMatchObject({ owner: 'bob', role: null });
    expect(moved.status.volumes.map((v) => v.id)).toEqual([`debian_${id}_home`]);
    expect(await bob.getSpace(id)).toMatchObject({ owner: 'bob', role: 'owner' });
    expect(await jobStatus(aliceJob)).toBe(404);

    // Nomad's view of the old job name, polled from before bob's start until his agent links
    const seen = new Map<number, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const status = await jobStatus(aliceJob).catch(() => -1);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let running: Space;
    try {
      await bob.startSpace(id);
      running = await settled(bob, 'running', 240_000);
      await agentLinked(bob);
    } finally {
      watching = false;
      await watcher;
    }
    console.log(`GET /v1/job/${aliceJob} during bob's start: ${JSON.stringify(Object.fromEntries(seen))}`);
    expect([...seen.keys()]).toEqual([404]);
    expect(seen.get(404)!).toBeGreaterThan(1);
    expect(await jobStatus(aliceJob)).toBe(404);

    // the job now runs under bob's name, and it is the only job of the space
    expect(running.status.nomadJobId).toBe(bobJob);
    expect(await jobStatus(bobJob)).toBe(200);
    const jobs = (await nomad.listJobs({ meta: true })).filter((j) => j.Meta?.knot_space_id === id && !j.Stop).map((j) => j.ID);
    expect(jobs).toEqual([bobJob]);
    const alloc = (await nomad.jobAllocations(bobJob)).find((a) => a.ClientStatus === 'running');
    expect(alloc).toBeDefined();

    // the same Nomad volume (kept, not re-created) with the same storage behind it
    expect(running.status.volumes.map((v) => v.id)).toEqual([`debian_${id}_home`]);
    expect((await nomad.readCsiVolume(volumeNomadId))?.ExternalID).toBe(volumeExternalId);
    const start = (await bob.spaceOperations(id)).items[0]!;
    const steps = (await bob.getOperation(start.id)).steps.map((x) => x.name);
    expect(steps.filter((n) => /creating volume/.test(n))).toEqual([]);

    // from inside bob's task: it is bob's, in the running allocation, and the marker is on /home
    expect(await inSpace(bobToken, 'echo "$KNOT_USER:$NOMAD_ALLOC_ID:$NOMAD_JOB_NAME"')).toBe(`bob:${alloc!.ID}:${bobJob}`);
    expect(await inSpace(bobToken, `cat ${MARKER_FILE}`)).toBe(marker);
    // and alice no longer sees the space
    expect(((await alice.getSpace(id).catch((e: unknown) => e)) as KnotApiError).status).toBe(404);
  }, 600_000);

  it('a running space\'s transfer is refused (409) and changes nothing', async () => {
    const before = await bob.getSpace(id);
    expect(before.status.phase).toBe('running');
    const refused = (await bob.transferSpace(id, { to: 'alice' }).catch((e: unknown) => e)) as KnotApiError;
    expect(refused).toBeInstanceOf(KnotApiError);
    expect(refused.status).toBe(409);
    expect(refused.type).toBe('space_not_stopped');
    const after = await bob.getSpace(id);
    expect(after).toMatchObject({ owner: 'bob', role: 'owner' });
    expect(after.status.nomadJobId).toBe(bobJob);
    expect(await jobStatus(bobJob)).toBe(200);
    expect(await jobStatus(aliceJob)).toBe(404);

    // leave nothing running: bob stops it; the job goes, the volume with the marker stays
    await bob.stopSpace(id);
    await settled(bob, 'stopped', 180_000);
    expect(await jobStatus(bobJob)).toBe(404);
    expect(readFileSync(path.join(nomadAgent.csiStateDir, volumeExternalId, path.basename(MARKER_FILE)), 'utf8')).toBe(marker);
  }, 300_000);
});
