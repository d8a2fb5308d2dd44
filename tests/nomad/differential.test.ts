/**
 * The differential probe suite: the contract probes (probes.ts) against a fresh sandbox emulating
 * this machine's real node (Nomad 1.6.5; drivers exec and raw_exec, no Docker) and against a real
 * Nomad agent when KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN are set — otherwise against the answers
 * recorded from one (recorded/nomad-1.6.5.json; KNOT_NOMAD_RECORD=1 with the binaries rewrites it).
 * Writes every difference to .test-results/nomad-differences.{md,json} and fails on any difference
 * that is not in the accepted table of docs/nomad-sandbox-differences.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../../nomad/sandbox';
import { realNomadBinaries, startNomadAgent, type NomadAgent } from './agent';
import { PROBES, type ProbeTarget } from './probes';
import { acceptedDifferences, differencesMarkdown, diffObservations, isAccepted, runProbes, type Observation } from './runner';

const ROOT = path.resolve(__dirname, '../..');
const RESULTS = path.join(ROOT, '.test-results');
const RECORDED = path.join(__dirname, 'recorded', 'nomad-1.6.5.json');
const log = (line: string): void => console.log(`[differential] ${line}`);

const binaries = realNomadBinaries();
let sandbox: Sandbox;
let agent: NomadAgent | undefined;

beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    allocRunningDelayMs: 20,
    healthyDelayMs: 20,
    claimReleaseDelayMs: 150,
    stopDelayMs: 10,
    nomadVersion: '1.6.5',
    drivers: ['exec', 'raw_exec'],
  });
  if (binaries) agent = await startNomadAgent({ ...binaries, log });
}, 180_000);

afterAll(async () => {
  await sandbox?.close();
  await agent?.stop();
}, 120_000);

it('answers every contract probe like Nomad 1.6.5, or differs only as docs/nomad-sandbox-differences.md accepts', async () => {
  const sandboxTarget: ProbeTarget = {
    label: 'sandbox',
    url: sandbox.url,
    nodeId: '',
    waitTimeoutMs: 5_000,
    volumeDataExists: async (v) => !sandbox.csiVolumeData(v.ID).DataDestroyed,
  };
  const sandboxObs = await runProbes(sandboxTarget, PROBES, log);

  let realObs: Observation[];
  let against: string;
  if (agent) {
    const a = agent;
    realObs = await runProbes(
      { label: 'nomad', url: a.url, nodeId: a.nodeId, waitTimeoutMs: 90_000, volumeDataExists: async (v) => existsSync(path.join(a.csiStateDir, v.ExternalID)) },
      PROBES,
      log,
    );
    against = `a real Nomad agent (${process.env.KNOT_NOMAD_BIN})`;
    if (process.env.KNOT_NOMAD_RECORD === '1') writeFileSync(RECORDED, `${JSON.stringify(realObs, null, 1)}\n`);
  } else {
    realObs = JSON.parse(readFileSync(RECORDED, 'utf8')) as Observation[];
    against = `answers recorded from Nomad 1.6.5 (${path.relative(ROOT, RECORDED)}); set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN to probe a live agent`;
  }

  const rows = acceptedDifferences();
  const { differences, realOnlyPaths } = diffObservations(sandboxObs, realObs);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, 'nomad-observations-sandbox.json'), JSON.stringify(sandboxObs, null, 1));
  writeFileSync(path.join(RESULTS, 'nomad-observations-real.json'), JSON.stringify(realObs, null, 1));
  writeFileSync(
    path.join(RESULTS, 'nomad-differences.json'),
    JSON.stringify(differences.map((d) => ({ ...d, accepted: Boolean(isAccepted(d, rows)) })), null, 1),
  );
  writeFileSync(path.join(RESULTS, 'nomad-differences.md'), differencesMarkdown(`Sandbox vs ${against}`, differences, rows, realOnlyPaths));
  const fresh = differences.filter((d) => !isAccepted(d, rows));
  log(`${differences.length} differences, ${fresh.length} not accepted; see .test-results/nomad-differences.md`);
  expect(fresh).toEqual([]);
}, 900_000);
