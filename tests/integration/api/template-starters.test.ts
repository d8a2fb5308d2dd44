/**
 * Starter templates (api/starters.ts, /api/v1/template-starters): what examples/templates/ ships is
 * offered while the store has no template, passes the server's own validation as shipped, and is
 * added with one call as an ordinary, editable template. Template validation places its problems at
 * the template's line and column, through the Nomad sandbox's parser.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readStarters, startersRoot } from '../../../api/starters';
import { closeTemporal, startHarness, type Harness } from './harness';

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLES = path.join(ROOT, 'examples/templates');

afterAll(closeTemporal);

describe('starter templates', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => h.close());

  it('are the folders of examples/templates, found from the package root, and ship in the image', () => {
    expect(startersRoot()).toBe(EXAMPLES);
    const starters = readStarters();
    expect(starters.map((s) => s.name)).toEqual(['debian', 'debian-exec']);
    for (const s of starters) {
      // the files next to template.yaml, read in verbatim (what `knot template push` sends)
      expect(s.content.job).toBe(readFileSync(path.join(EXAMPLES, s.name, 'job.nomad.hcl'), 'utf8'));
      expect(s.content.volumes).toBe(readFileSync(path.join(EXAMPLES, s.name, 'volumes.yaml'), 'utf8'));
    }
    expect(readFileSync(path.join(ROOT, 'Containerfile'), 'utf8')).toMatch(/^COPY examples\/templates \.\/examples\/templates$/m);
  });

  it('each is valid as shipped: the server’s own validation (render, volumes, Nomad parse) finds nothing', async () => {
    for (const s of readStarters()) {
      expect([s.name, await h.client.validateTemplate(s.content)]).toEqual([s.name, { valid: true, errors: [] }]);
    }
  });

  it('are offered only on an empty store, to admins; one call adds one as version 1.0.0, editable after', async () => {
    const user = await h.user('carol');
    expect((await h.call('GET', '/api/v1/template-starters', { token: user.token })).status).toBe(403);
    expect((await h.call('POST', '/api/v1/template-starters/debian', { token: user.token })).status).toBe(403);

    const before = await h.client.templateStarters();
    expect(before.offered).toBe(true);
    expect(before.items.map((s) => [s.name, s.type])).toEqual([
      ['debian', 'nomad'],
      ['debian-exec', 'nomad'],
    ]);
    expect(before.items[0]!.description).toMatch(/Docker/);
    expect(before.items[1]!.description).toMatch(/exec/);

    const added = await h.client.addTemplateStarter('debian');
    expect(added).toMatchObject({ name: 'debian', version: '1.0.0', displayName: 'Debian (Docker)' });
    expect(added.job).toBe(readFileSync(path.join(EXAMPLES, 'debian/job.nomad.hcl'), 'utf8'));
    const audit = await h.client.listAudit({ action: 'template.create' });
    expect(audit.items[0]).toMatchObject({ action: 'template.create', outcome: 'ok' });

    expect((await h.client.templateStarters()).offered).toBe(false);
    const again = await h.call('POST', '/api/v1/template-starters/debian');
    expect(again.status).toBe(409);
    const unknown = await h.call('POST', '/api/v1/template-starters/..%2F..%2Fetc');
    expect(unknown.status).toBe(404);

    const edited = await h.client.patchTemplate('debian', { merge: { job: added.job!.replace('memory = 512', 'memory = 1024') } });
    expect(edited.version).toBe('1.1.0');
  });

  it('validation problems carry the line and column in the template, Nomad parse errors included', async () => {
    const job = ['job "x" {', '  name = "${{ .space.name }}-${{ .user.username }}" = 3', '  datacenters = ["dc1"]', '}', ''].join('\n');
    const broken = await h.client.validateTemplate({ name: 'x', job });
    expect(broken.valid).toBe(false);
    const column = job.split('\n')[1]!.indexOf('" = 3') + 3; // the second `=`, in the template (not the rendered job)
    expect(broken.errors).toEqual([{ path: 'job', line: 2, column, message: expect.stringMatching(new RegExp(`^Nomad cannot parse the rendered job: 2:${column}: Missing newline after argument`)) }]);

    const unknownName = await h.client.validateTemplate({ name: 'x', job: 'job "x" {\n  name = "${{ .space.nope }}"\n}\n' });
    expect(unknownName.errors).toEqual([expect.objectContaining({ path: 'job', line: 2, column: 11 })]);

    const volumes = 'volumes:\n  - id: "v_${{ .space.id }}"\n    type: csi\n    plugin_id: hostpath\n    colour: red\n';
    const badVolume = await h.client.validateTemplate({ name: 'x', job: readFileSync(path.join(EXAMPLES, 'debian/job.nomad.hcl'), 'utf8'), volumes });
    expect(badVolume.errors).toContainEqual(expect.objectContaining({ line: 5, column: 5, message: expect.stringMatching(/unknown key/) }));
  });
});
