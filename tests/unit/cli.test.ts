/** The CLI seeds: `knot genkey` makes a key the config accepts; `knot scaffold --nomad` is a valid job. */
import { readFileSync } from 'node:fs';
import { generateKey } from '../../core/crypto';
import { loadConfig, storeChoice } from '../../core/config';
import { defaultImage, knotVersion, nomadServerJob } from '../../cli/scaffold';
import { parseJobspec } from '../../nomad/sandbox/jobspec';

it('genkey produces a key server.encrypt accepts, different every time', () => {
  const a = generateKey();
  expect(loadConfig('', { KNOT_SERVER_ENCRYPT: a }).server.encrypt).toBe(a);
  expect(generateKey()).not.toBe(a);
});

it('scaffold --nomad parses as a Nomad job running the server (with a /health check) and the worker', async () => {
  const job = await parseJobspec(nomadServerJob());
  expect(job.ID).toBe('knot-server');
  const groups = job.TaskGroups ?? [];
  expect(groups.map((g) => g.Name)).toEqual(['knot-server', 'knot-worker']);
  // two of each: one always serves while the other is updated or lost (docs/scaling.md)
  expect(groups.map((g) => g.Count)).toEqual([2, 2]);
  expect(job.Update).toMatchObject({ MaxParallel: 1, HealthCheck: 'checks', AutoRevert: true });
  expect(groups.map((g) => g.Tasks![0]!.KillTimeout)).toEqual([30e9, 60e9]);
  expect(groups[0]!.Tasks![0]!.Env).toMatchObject({ KNOT_ADVERTISE_URL: 'http://${NOMAD_ADDR_knot_port}' });
  const server = groups[0]!.Tasks![0]!;
  expect(server.Config).toMatchObject({ args: ['server'] });
  expect(server.Services?.[0]?.Checks?.[0]).toMatchObject({ Type: 'http', Path: '/health' });
  expect(groups[1]!.Tasks![0]!.Config).toMatchObject({ args: ['worker'] });
  // the embedded knot.yml names the external Temporal cluster
  expect(server.Templates?.[0]?.EmbeddedTmpl).toMatch(/temporal:\n\s+address:/);
});

it('scaffold --nomad deploys this knot image as two independently scaled groups', async () => {
  const version = (JSON.parse(readFileSync(`${__dirname}/../../package.json`, 'utf8')) as { version: string }).version;
  expect(knotVersion()).toBe(version);
  expect(defaultImage()).toBe(`localhost/knot:${version}`);
  const hcl = nomadServerJob({ image: 'ghcr.io/acme/knot:1.2.3', serverCount: 2, workerCount: 3 });
  expect(hcl).not.toContain('paularlott');
  const job = await parseJobspec(hcl);
  const [api, worker] = job.TaskGroups ?? [];
  expect([api?.Count, worker?.Count]).toEqual([2, 3]);
  for (const g of [api!, worker!]) expect(g.Tasks![0]!.Config).toMatchObject({ image: 'ghcr.io/acme/knot:1.2.3' });
  expect(api!.Tasks![0]!.Config).toMatchObject({ args: ['server'] });
  expect(worker!.Tasks![0]!.Config).toMatchObject({ args: ['worker'] });
  // the embedded config is one knot accepts, with the Temporal cluster and the worker's metrics listener
  const yml = api!.Tasks![0]!.Templates![0]!.EmbeddedTmpl!;
  const cfg = loadConfig(yml.replace('"knot genkey"', `"${generateKey()}"`).replace('user: ""', 'user: "knot"'));
  expect(cfg.server.temporal).toMatchObject({ address: 'temporal.service.consul:7233', task_queue: 'knot' });
  expect(cfg.server.metrics.worker_listen).toBe('0.0.0.0:9464');
  expect(cfg.server.trust_proxy).toBe(1);
  expect(storeChoice(cfg)).toBe('mysql');
  // switching to Redis alone is one key away
  expect(storeChoice(loadConfig(yml.replace('"knot genkey"', `"${generateKey()}"`).replace('enabled: true\n    host: ""', 'enabled: false\n    host: ""').replace('enabled: false\n    host: "srv+redis', 'enabled: true\n    host: "srv+redis')))).toBe('redis');
  const defaults = await parseJobspec(nomadServerJob());
  expect(defaults.TaskGroups![0]!.Tasks![0]!.Config).toMatchObject({ image: `localhost/knot:${version}` });
});
