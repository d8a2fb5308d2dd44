import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { durationNs, evalTemplate, JobspecError, parseJobspec } from '../../../nomad/sandbox/jobspec';

const FIXTURES = join(__dirname, '../../fixtures/nomad');
const EXAMPLE = join(__dirname, '../../../examples/templates/debian');

/** Every key the expected JSON lists must be present and equal; extra keys in `actual` are fine. */
function expectSubset(actual: unknown, expected: unknown, path = '$'): void {
  if (expected !== null && typeof expected === 'object') {
    expect({ path, isObject: actual !== null && typeof actual === 'object' }).toEqual({ path, isObject: true });
    if (Array.isArray(expected)) {
      expect({ path, length: (actual as unknown[]).length }).toEqual({ path, length: expected.length });
    }
    for (const [key, value] of Object.entries(expected)) {
      expectSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  expect({ path, value: actual }).toEqual({ path, value: expected });
}

/** The seed's Nomad job (kept verbatim in examples/templates/debian), its variables filled in. */
function seedJob(): string {
  return readFileSync(join(EXAMPLE, 'job.nomad.hcl'), 'utf8').replace(/\n$/, '').replace(/\$\{\{[^}]*\}\}/g, 'x1');
}

describe('parseJobspec', () => {
  it('matches example-space.parsed.json on every field it lists', async () => {
    const hcl = readFileSync(join(FIXTURES, 'example-space.nomad.hcl'), 'utf8');
    const expected: unknown = JSON.parse(readFileSync(join(FIXTURES, 'example-space.parsed.json'), 'utf8'));
    expectSubset(await parseJobspec(hcl), expected);
  });

  it('parses the seed 000 space job once its ${{ }} variables are filled in', async () => {
    const job = await parseJobspec(seedJob());
    expect(job.ID).toBe('x1-x1');
    const group = job.TaskGroups?.[0];
    expect(group?.Volumes?.home_volume).toMatchObject({ Type: 'csi', Source: 'debian_x1_home', AccessMode: 'single-node-writer' });
    expect(group?.Networks?.[0]?.DynamicPorts).toEqual([{ Label: 'knot_port', Value: 0, To: 3000, HostNetwork: '', IgnoreCollision: false }]);
    const task = group?.Tasks[0];
    expect(task?.Env?.KNOT_SSH_PORT).toBe('22');
    expect(task?.Services?.[0]?.Checks?.[0]).toMatchObject({ Name: 'alive', Type: 'http', Path: '/ping', Interval: 10e9, Timeout: 2e9 });
    expect(job.Update).toMatchObject({ MinHealthyTime: 30e9, HealthyDeadline: 60e9, AutoRevert: false });
  });

  it('keeps runtime interpolations, unescapes $${}, substitutes variables and keeps block order', async () => {
    const job = await parseJobspec(
      `variable "tag" { default = "1.0" }
       variable "n" { default = 2 }
       job "j" {
         group "zeta" {
           count = var.n
           task "b" {
             driver = "docker"
             env {
               A = "\${NOMAD_PORT_http}"
               B = "$\${literal}"
               C = "img:\${var.tag}"
             }
             template {
               data = "{{ env \\"X\\" }}"
               destination = "local/x"
               splay = "1m30s"
             }
             constraint {
               attribute = "\${attr.kernel.name}"
               value     = "linux"
             }
           }
           task "a" { driver = "exec" }
         }
         group "alpha" {}
       }`,
      'tag = "2.0"\n',
    );
    expect(job.TaskGroups?.map((g) => g.Name)).toEqual(['zeta', 'alpha']);
    const zeta = job.TaskGroups?.[0];
    expect(zeta?.Count).toBe(2);
    expect(zeta?.Tasks.map((t) => t.Name)).toEqual(['b', 'a']);
    expect(zeta?.Tasks[0]?.Env).toEqual({ A: '${NOMAD_PORT_http}', B: '${literal}', C: 'img:2.0' });
    expect(zeta?.Tasks[0]?.Templates?.[0]).toMatchObject({ EmbeddedTmpl: '{{ env "X" }}', DestPath: 'local/x', Splay: 90e9 });
    expect(zeta?.Tasks[0]?.Constraints).toEqual([{ LTarget: '${attr.kernel.name}', RTarget: 'linux', Operand: '' }]);
    expect(job.Region).toBeNull();
    expect(job.Priority).toBeNull();
  });

  it.each([
    ['job "x" { a = }', /Invalid expression/],
    ['group "g" {}', /Missing job block/],
    ['variable "v" {}\njob "x" {}', /Required variable "v" is not set/],
    ['job "x" {\n meta {\n a = var.nope\n }\n}', /undeclared input variable/],
    ['job "x" {\n update { min_healthy_time = "10 seconds" }\n}', /invalid duration/],
  ])('rejects %j', async (hcl, message) => {
    await expect(parseJobspec(hcl)).rejects.toThrow(JobspecError);
    await expect(parseJobspec(hcl)).rejects.toThrow(message);
  });

  it.each([
    ['10s', 10e9],
    ['5m', 300e9],
    ['1h30m', 5400e9],
    ['250ms', 250e6],
    ['1.5s', 1.5e9],
    ['0', 0],
  ])('duration %s → %d ns', (text, ns) => {
    expect(durationNs(text)).toBe(ns);
  });

  it('evaluates whole-variable templates to their typed value', () => {
    const vars = new Map<string, unknown>([['n', 3]]);
    expect(evalTemplate('${var.n}', vars)).toBe(3);
    expect(evalTemplate('n=${var.n} ${upper("a")} %%{x}', vars)).toBe('n=3 ${upper("a")} %{x}');
  });
});
