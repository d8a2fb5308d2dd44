/** The CLI seeds: `knot genkey` makes a key the config accepts; `knot scaffold --nomad` is a valid job. */
import { generateKey } from '../../core/crypto';
import { loadConfig } from '../../core/config';
import { nomadServerJob } from '../../cli/scaffold';
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
  const server = groups[0]!.Tasks![0]!;
  expect(server.Config).toMatchObject({ args: ['server'] });
  expect(server.Services?.[0]?.Checks?.[0]).toMatchObject({ Type: 'http', Path: '/health' });
  expect(groups[1]!.Tasks![0]!.Config).toMatchObject({ args: ['worker'] });
  // the embedded knot.yml names the external Temporal cluster
  expect(server.Templates?.[0]?.EmbeddedTmpl).toMatch(/temporal:\n\s+address:/);
});
