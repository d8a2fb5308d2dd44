import { NomadClient } from '../../../nomad/client';
import { classifyNomadFailure, multierrorReasons, NomadError } from '../../../nomad/errors';
import type { Sandbox } from '../../../nomad/sandbox';
import { FaultInjector } from '../../../nomad/sandbox/faults';
import { sandboxWithClient } from './helpers';

let sandbox: Sandbox;
let client: NomadClient;

beforeAll(async () => {
  // the helper's generous timeout: only the hang test wants a short one, and it has its own client
  ({ sandbox, client } = await sandboxWithClient());
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.reset();
  sandbox.setFaults({});
});

async function failure(p: Promise<unknown>): Promise<NomadError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof NomadError)) throw new Error(`expected a NomadError, got ${String(e)}`);
  return e;
}

it('500 from an error-rate fault → retryable NomadUnavailable with a realistic text', async () => {
  sandbox.setFaults({ rules: [{ method: 'GET', path: '^/v1/jobs$', errorRate: 1 }] });
  const e = await failure(client.listJobs());
  expect(e).toMatchObject({ type: 'nomad_unavailable', retryable: true, nomadStatus: 500, endpoint: 'GET /v1/jobs' });
  expect(e.nomadMessage).toMatch(/No cluster leader|rpc error/);
  expect(await client.readJob('other-endpoint-unaffected')).toBeNull();
});

it('the error rate is reproducible for a given seed', () => {
  const outcomes = (seed: number): string[] => {
    const injector = new FaultInjector({ seed, rules: [{ path: '.*', errorRate: 0.5 }] });
    return Array.from({ length: 20 }, () => injector.decide('GET', '/v1/jobs').kind);
  };
  expect(outcomes(42)).toEqual(outcomes(42));
  expect(outcomes(42)).toContain('error');
  expect(outcomes(42)).toContain('pass');
});

it('a hung request times out into a retryable NomadUnavailable', async () => {
  sandbox.setFaults({ rules: [{ path: '^/v1/job/', hang: true }] });
  const impatient = new NomadClient({ addr: sandbox.url, timeoutMs: 300 });
  const started = Date.now();
  const e = await failure(impatient.readJob('x'));
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  expect(e).toMatchObject({ type: 'nomad_unavailable', retryable: true, nomadStatus: 0 });
  expect(e.nomadMessage).toMatch(/timed out after 300 ms/);
});

it('latency is added per call', async () => {
  sandbox.setFaults({ latencyMs: 60 });
  const started = Date.now();
  await client.listJobs();
  expect(Date.now() - started).toBeGreaterThanOrEqual(55);
});

it('faults can be set over HTTP through the sandbox admin API', async () => {
  const put = await fetch(`${sandbox.url}/v1/sandbox/faults`, {
    method: 'PUT',
    body: JSON.stringify({ rules: [{ path: '^/v1/jobs/parse$', errorRate: 1, errorStatus: 429, errorMessage: 'Too many requests' }] }),
  });
  expect(put.status).toBe(200);
  const e = await failure(client.parseJob('job "x" {}'));
  expect(e).toMatchObject({ nomadStatus: 429, retryable: true, type: 'nomad_unavailable' });
  const state = (await (await fetch(`${sandbox.url}/v1/sandbox/state`)).json()) as { jobs: unknown[] };
  expect(state.jobs).toEqual([]);
  expect((await fetch(`${sandbox.url}/v1/sandbox/reset`, { method: 'POST' })).status).toBe(200);
});

it('a network error (nothing listening) → retryable NomadUnavailable', async () => {
  const nowhere = new NomadClient({ addr: 'http://127.0.0.1:9', timeoutMs: 1000 });
  expect(await failure(nowhere.listJobs())).toMatchObject({ type: 'nomad_unavailable', retryable: true, nomadStatus: 0 });
});

it.each<[number, string, string, boolean]>([
  [400, 'Job spec is empty', 'nomad_request', false],
  [403, 'Permission denied', 'nomad_request', false],
  [404, 'job not found', 'nomad_request', false],
  [429, 'rate limited', 'nomad_unavailable', true],
  [500, 'No cluster leader', 'nomad_unavailable', true],
  [502, 'bad gateway', 'nomad_unavailable', true],
  [500, 'validation: missing volume id', 'nomad_request', false],
  [500, 'rpc error: validation: missing plugin id', 'nomad_request', false],
  [500, 'no CSI plugin named: x could be found', 'nomad_request', false],
  [500, 'plugin does not support creating volumes', 'nomad_request', false],
  [500, 'Enforcing job modify index 3: job exists with conflicting job modify index: 4', 'nomad_request', false],
  [500, 'volume in use: v1', 'nomad_volume_in_use', true],
  [500, 'rpc error: volume in use: v1', 'nomad_volume_in_use', true],
  [500, 'volume abc in use by allocations: [a1]', 'nomad_volume_in_use', true],
  [0, 'ECONNREFUSED', 'nomad_unavailable', true],
  // what a real 1.6.5 agent answers to an invalid job on register: final, not an outage
  [500, '1 error occurred:\n\t* Task "t": minimum MemoryMB value is 10\n\n', 'nomad_request', false],
  [500, '2 errors occurred:\n\t* Missing job datacenters\n\t* Missing job task groups\n\n', 'nomad_request', false],
  [500, 'job "x" is in nonexistent namespace "nope"', 'nomad_request', false],
  [500, 'UUID must be 36 characters', 'nomad_request', false],
])('classifies %d %j as %s (retryable %s)', (status, message, type, retryable) => {
  expect(classifyNomadFailure(status, message)).toEqual({ type, retryable });
});

describe('multierrorReasons', () => {
  it.each<[string, string[] | null]>([
    ['1 error occurred:\n\t* Task "t": minimum MemoryMB value is 10\n\n', ['Task "t": minimum MemoryMB value is 10']],
    ['2 errors occurred:\n\t* Missing job datacenters\n\t* Task group web validation failed: 1 error occurred:\n\n', ['Missing job datacenters', 'Task group web validation failed: 1 error occurred:']],
    ['No cluster leader', null],
    ['1 error occurred:', null],
  ])('%j → %j', (message, reasons) => {
    expect(multierrorReasons(message)).toEqual(reasons);
  });
});
