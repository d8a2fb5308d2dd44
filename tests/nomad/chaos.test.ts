/**
 * The resilience suite's worker-kill scenario (tests/resilience/scenarios.ts) on a real Nomad
 * agent: mixed lifecycle operations on a few spaces of the exec example template while the
 * `knot worker` process is SIGKILLed every few seconds and restarted; then the same invariants,
 * read over the agent's HTTP API (every operation terminal, phases match Nomad, no leaked job or
 * volume, no lost volume). Only `npm run test:nomad` runs it.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newId } from '../../core/names';
import { NomadClient } from '../../nomad/client';
import { seededRandom } from '../../nomad/sandbox/faults';
import { createLifecycleClient } from '../../temporal/lifecycle-client';
import { createTestStore, type TestStore } from '../support/db';
import { EXAMPLES, seedUser } from '../support/harness';
import { workerProcess, type WorkerProcess } from '../support/worker-process';
import { checkInvariants, diagnose, nomadStateOverApi, summary } from '../resilience/invariants';
import { drive, loop, settle } from '../resilience/scenarios';
import { agentDownloadsRoot } from '../../api/agent-downloads';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';
import { freePort } from './agent';
import { startRealNomad, type RealNomad } from './real-nomad';

const ENCRYPT_KEY = Buffer.alloc(32, 5).toString('base64');
// KNOT_TEST_CHAOS_OPS: a longer run by hand, when hunting a rare violation
const PROFILE = { ops: Number(process.env.KNOT_TEST_CHAOS_OPS ?? 16), spaces: 4, killEveryMs: [4000, 8000] as const, minKills: 4, paceMs: 500, settleMs: 600_000 };

/** The exec example under its own job ids (`<prefix>-<space name>`); `withData` mounts a second volume. */
function execJobs(prefix: string): { first: string; withData: string } {
  const first = readFileSync(path.join(EXAMPLES, 'debian-exec/job.nomad.hcl'), 'utf8').replace('job "${{.space.name}}-${{.user.username}}"', `job "${prefix}-\${{.space.name}}"`);
  const dataVolume = [
    '    volume "data_volume" {',
    '      type            = "csi"',
    '      source          = "debian_${{.space.id}}_data"',
    '      attachment_mode = "file-system"',
    '      access_mode     = "single-node-writer"',
    '    }',
    '',
    '    task "debian" {',
  ].join('\n');
  return { first, withData: first.replace('    task "debian" {', dataVolume) };
}

let agent: RealNomad;
let db: TestStore;
let worker: WorkerProcess;
let temporal: Client;
let api: Api;
// the evidence a violation needs (every worker start's output, the agent's log), kept only then
let evidence: string | undefined;
let keepEvidence = false;

afterAll(async () => {
  await api?.close();
  await temporal?.connection.close();
  await worker?.stop();
  await db?.cleanup();
  await agent?.stop();
  if (evidence && !keepEvidence) rmSync(evidence, { recursive: true, force: true });
}, 60_000);

it(`keeps its invariants on a real Nomad agent while the worker is SIGKILLed every few seconds (${PROFILE.ops} operations)`, async () => {
  if (!agentDownloadsRoot()) throw new Error('no agent downloads in dist/agent-downloads: run `node scripts/build-agent.mjs` (npm run test:nomad builds them)');
  agent = await startRealNomad();
  const nomad = new NomadClient({ addr: agent.url, timeoutMs: 10_000 });
  db = await createTestStore('sqlite');
  const address = process.env.KNOT_TEST_TEMPORAL_ADDRESS!;
  const taskQueue = `real-chaos-${newId(Date.now())}`;
  evidence = mkdtempSync(path.join(os.tmpdir(), 'knot-real-chaos-'));
  // the tasks fetch the agent from the API's /agent/ downloads at server.url (exec tasks share the
  // host's network) and their agents link to it
  const port = await freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  worker = workerProcess({ taskQueue, temporalAddress: address, nomadAddr: agent.url, storeEnv: db.env, encryptKey: ENCRYPT_KEY, nomadTimeout: '10s', extraEnv: { KNOT_SERVER_URL: serverUrl }, logFile: path.join(evidence, 'worker.log') });
  await worker.start();
  temporal = new Client({ connection: await Connection.connect({ address }), namespace: 'default' });
  const lifecycle = createLifecycleClient(temporal, db.store, { taskQueue });
  api = await startApi('sqlite', { port, backend: { store: db.store, sandboxUrl: agent.url, lifecycle }, config: { KNOT_ENCRYPT: ENCRYPT_KEY, KNOT_SERVER_URL: serverUrl } });
  const owner = await seedUser(db.store, `rk${newId(Date.now()).slice(-6)}`);

  const random = seededRandom(17);
  const killer = loop(
    () => PROFILE.killEveryMs[0] + random() * (PROFILE.killEveryMs[1] - PROFILE.killEveryMs[0]),
    async () => {
      await worker.kill();
      await worker.start();
    },
  );
  const t0 = Date.now();
  let d: Awaited<ReturnType<typeof drive>>;
  try {
    d = await drive({ store: db.store, lifecycle }, { owner, template: 'rk', jobPrefix: 'rk', ops: PROFILE.ops, spaces: PROFILE.spaces, seed: 5, timeoutMs: PROFILE.settleMs, paceMs: PROFILE.paceMs, jobs: execJobs('rk') });
    const until = Date.now() + 120_000;
    while (killer.count() < PROFILE.minKills && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await killer.stop();
    await worker.start();
  }
  const s = await settle({ store: db.store }, d.opIds, PROFILE.settleMs);
  const state = await nomadStateOverApi(nomad);
  const report = await checkInvariants(db.store, state, { spaceIds: d.spaceIds });
  const totalMs = Date.now() - t0;
  console.log(summary('real-nomad worker-kill', report, { issued: d.issued, refused: d.refusedBy, byType: d.byType, kills: killer.count(), driveMs: d.ms, settleMs: s.ms, totalMs, unsettled: s.pending.length }));
  // a failed operation is allowed (compensated, nothing leaked), but it should say why
  const failed = (await Promise.all(d.spaceIds.map((id) => db.store.operations.listOfSpace(id, 1000)))).flat().filter((o) => o.status === 'failed');
  if (failed.length > 0) console.log(`[resilience] real-nomad failed operations:\n  ${failed.map((o) => `${o.type} of ${o.spaceId} ${o.errorType}: ${o.errorMessage}`).join('\n  ')}`);
  if (report.violations.length > 0 || failed.length > 0) {
    const diagnosis = await diagnose(db.store, state, d.spaceIds);
    writeFileSync(path.join(evidence, 'diagnosis.txt'), diagnosis);
    if (agent.logFile) copyFileSync(agent.logFile, path.join(evidence, 'nomad-agent.log'));
    console.log(`[resilience] real-nomad violations:\n  ${report.violations.join('\n  ')}\ndiagnosis:\n${diagnosis}\nworker and agent logs kept in ${evidence}`);
    keepEvidence = true;
  }
  expect(d.issued).toBeGreaterThan(0);
  expect(s.pending).toEqual([]);
  expect(report.violations).toEqual([]);
  // the scenario proves something only if the worker really was killed, and came back
  expect(killer.count()).toBeGreaterThan(0);
  expect(worker.starts).toBeGreaterThan(killer.count());
}, 1_200_000);
