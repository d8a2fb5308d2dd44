import { readFileSync } from 'node:fs';
import { ErrorType, KnotError } from '../../../core/errors';
import { renderTemplate } from '../../../core/render';
import { sampleRenderContext } from '../../../core/render-sample';
import { parseSize, parseVolumeDefinitions, planVolumes, renderVolumeDefinitions, type VolumeSpec } from '../../../core/volumes';

/** The seed's Volume-Definition, kept verbatim in examples/templates/debian. */
function seedVolumes(): string {
  return readFileSync(`${__dirname}/../../../examples/templates/debian/volumes.yaml`, 'utf8');
}

function volumeErrors(yamlText: string): { path: string; message: string }[] {
  try {
    parseVolumeDefinitions(yamlText);
  } catch (e) {
    if (e instanceof KnotError && e.type === ErrorType.VolumeSpec) return e.errors;
    throw e;
  }
  throw new Error('expected KnotError(VolumeSpec)');
}

const GOOD_CAPS = '    capabilities:\n      - access_mode: single-node-writer\n        attachment_mode: file-system\n';

describe('parseSize', () => {
  it.each([
    ['1G', 1e9],
    ['10G', 1e10],
    ['10GiB', 10 * 2 ** 30],
    ['10Gi', 10 * 2 ** 30],
    ['500M', 500e6],
    ['500MB', 500e6],
    ['1T', 1e12],
    ['1Ti', 2 ** 40],
    ['2K', 2000],
    ['4KiB', 4096],
    ['1.5G', 1.5e9],
    ['10 GiB', 10 * 2 ** 30],
    ['1g', 1e9],
    ['1048576', 1048576],
    [1048576, 1048576],
    [0, 0],
  ])('%j → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([['abc'], ['10X'], ['-1G'], ['G'], [''], ['1.5'], ['0.5B'], [1.5], [-1], ['1e9'], ['10 G B'], [null], [true], [[1]], ['99999999999P']])(
    'rejects %j',
    (input) => {
      expect(parseSize(input)).toBeUndefined();
    },
  );
});

describe('renderVolumeDefinitions', () => {
  // the activities render straight to data; it must be exactly the printed-and-parsed result
  const viaText = (yaml: string, ctx: ReturnType<typeof sampleRenderContext>) => parseVolumeDefinitions(renderTemplate(yaml, ctx, { escape: 'yaml', path: 'volumes' }));

  it('gives what rendering to text and parsing gives, for the seed and for values YAML would read as structure', () => {
    const ctx = sampleRenderContext('example');
    expect(renderVolumeDefinitions(seedVolumes(), ctx)).toEqual(viaText(seedVolumes(), ctx));
    const tricky = [
      'volumes:',
      '  - id: "v_${{ .space.id }}"',
      '    name: ${{ .var.NAME }}',
      '    type: csi',
      '    plugin_id: hostpath',
      '    capacity_min: ${{ .var.SIZE }}',
      '    mount_options:',
      '      fs_type: ext4',
      '      mount_flags: ["${{ .var.FLAG }}", "x ${{ .var.NAME }} y"]',
      '    parameters:',
      '      a: ${{ .var.BOOL }}',
      '      b: ${{ .var.NAME }}-suffix',
      GOOD_CAPS.trimEnd(),
    ].join('\n');
    // a plain scalar that renders to a bare token is re-typed as YAML types it (`null`, `10`): the same both ways
    for (const NAME of ['plain', 'a: b', '- item', '{x: 1}', '#not a comment', "it's \"quoted\"", 'line\nbreak', 'null', '10']) {
      const c = { ...ctx, var: { NAME, SIZE: '2G', FLAG: 'rw', BOOL: 'true' } };
      const outcome = (f: () => VolumeSpec[]) => {
        try {
          return f();
        } catch (e) {
          return (e as Error).message;
        }
      };
      const direct = outcome(() => renderVolumeDefinitions(tricky, c));
      expect(direct).toEqual(outcome(() => viaText(tricky, c)));
      // a value never becomes structure: it stays the one string it was (`10` is a number: refused as a name, both ways)
      if (NAME === '10') expect(direct).toMatch(/name: must be a string/);
      else if (NAME !== 'null') expect((direct as VolumeSpec[])[0]!.name).toBe(NAME);
    }
  });

  it('throws the render error renderTemplate throws, and no volumes for empty text', () => {
    const ctx = sampleRenderContext('example');
    const bad = 'volumes:\n  - id: ${{ .space.nope }}\n';
    expect(() => renderVolumeDefinitions(bad, ctx)).toThrow(/space\.nope|nope/);
    let viaTextError: unknown;
    try {
      viaText(bad, ctx);
    } catch (e) {
      viaTextError = e;
    }
    expect(() => renderVolumeDefinitions(bad, ctx)).toThrow((viaTextError as Error).message);
    expect(renderVolumeDefinitions('  \n', ctx)).toEqual([]);
  });

  it('renders a text it has rendered before anew for each context, after a failed render too', () => {
    // the parsed document is kept per text; each render must start from the scalars as parsed
    const yaml = ['volumes:', '  - id: "v-${{ .var.ID }}"', '    name: ${{ .var.NAME }}', '    type: csi', '    plugin_id: hostpath', GOOD_CAPS.trimEnd()].join('\n');
    const ctx = sampleRenderContext('example');
    const render = (vars: Record<string, string>) => renderVolumeDefinitions(yaml, { ...ctx, var: vars });
    expect(render({ ID: 'a', NAME: 'first' })[0]).toMatchObject({ id: 'v-a', name: 'first' });
    expect(() => render({ ID: 'b' })).toThrow(/NAME/);
    // the plain scalar is plain again: `10` is re-typed as a number, as a fresh parse would
    expect(() => render({ ID: 'c', NAME: '10' })).toThrow(/name: must be a string/);
    expect(render({ ID: 'd', NAME: 'second' })[0]).toMatchObject({ id: 'v-d', name: 'second' });
    expect(renderTemplate(yaml, { ...ctx, var: { ID: 'e', NAME: 'third' } }, { escape: 'yaml', path: 'volumes' })).toContain('    name: third\n');
  });
});

describe('parseVolumeDefinitions', () => {
  it('parses the seed definition, rendered, into the expected spec', () => {
    const ctx = sampleRenderContext('example');
    const specs = parseVolumeDefinitions(renderTemplate(seedVolumes(), ctx, { escape: 'yaml' }));
    const id = `debian_${ctx.space.id}_home`;
    expect(specs).toEqual<VolumeSpec[]>([
      {
        type: 'csi',
        id,
        name: id,
        pluginId: 'hostpath',
        capacityMin: 1e9,
        capacityMax: 1e10,
        mountOptions: { fsType: 'ext4', mountFlags: ['rw', 'noatime'] },
        capabilities: [{ accessMode: 'single-node-writer', attachmentMode: 'file-system' }],
      },
    ]);
  });

  it('parses every key of csi and host volumes', () => {
    const text = [
      'volumes:',
      '  - id: data',
      '    namespace: dev',
      '    plugin_id: ceph',
      '    capacity_max: 1Ti',
      '    secrets: { user: admin, pin: 1234 }',
      '    parameters: { pool: fast }',
      GOOD_CAPS,
      '  - id: cache',
      '    name: Cache',
      '    type: host',
      '    plugin_id: mkdir',
      '    node_pool: gpu',
      '    capabilities:',
      '      - access_mode: multi-node-multi-writer',
      '        attachment_mode: block-device',
    ].join('\n');
    expect(parseVolumeDefinitions(text)).toEqual<VolumeSpec[]>([
      {
        type: 'csi',
        id: 'data',
        name: 'data',
        namespace: 'dev',
        pluginId: 'ceph',
        capacityMax: 2 ** 40,
        secrets: { user: 'admin', pin: '1234' },
        parameters: { pool: 'fast' },
        capabilities: [{ accessMode: 'single-node-writer', attachmentMode: 'file-system' }],
      },
      {
        type: 'host',
        id: 'cache',
        name: 'Cache',
        pluginId: 'mkdir',
        nodePool: 'gpu',
        capabilities: [{ accessMode: 'multi-node-multi-writer', attachmentMode: 'block-device' }],
      },
    ]);
  });

  it.each([[''], ['   \n'], ['# nothing\n'], ['volumes: []'], ['volumes:'], ['volumes: null']])('%j means no volumes', (text) => {
    expect(parseVolumeDefinitions(text)).toEqual([]);
  });

  const vol = (body: string) => `volumes:\n  - id: v1\n    plugin_id: p\n${body}`;
  it.each([
    ['missing id', 'volumes:\n  - plugin_id: p\n' + GOOD_CAPS, 'volumes[0].id', 'is required'],
    ['missing plugin_id', 'volumes:\n  - id: v1\n' + GOOD_CAPS, 'volumes[0](v1).plugin_id', 'is required'],
    ['bad capacity', vol('    capacity_min: lots\n' + GOOD_CAPS), 'volumes[0](v1).capacity_min', 'invalid size'],
    ['min above max', vol('    capacity_min: 10G\n    capacity_max: 1G\n' + GOOD_CAPS), 'volumes[0](v1).capacity_min', 'greater than capacity_max'],
    ['no capabilities', vol(''), 'volumes[0](v1).capabilities', 'at least one'],
    ['empty capabilities', vol('    capabilities: []\n'), 'volumes[0](v1).capabilities', 'at least one'],
    ['bad access mode', vol('    capabilities:\n      - access_mode: rw\n        attachment_mode: file-system\n'), 'volumes[0](v1).capabilities[0].access_mode', 'must be one of'],
    ['bad attachment mode', vol('    capabilities:\n      - access_mode: single-node-writer\n        attachment_mode: nfs\n'), 'volumes[0](v1).capabilities[0].attachment_mode', 'must be one of'],
    ['unknown key', vol('    size: 1G\n' + GOOD_CAPS), 'volumes[0](v1).size', 'unknown key'],
    ['unknown mount option', vol('    mount_options: { fs: ext4 }\n' + GOOD_CAPS), 'volumes[0](v1).mount_options.fs', 'unknown key'],
    ['mount flags not a list', vol('    mount_options: { mount_flags: rw }\n' + GOOD_CAPS), 'volumes[0](v1).mount_options.mount_flags', 'list of strings'],
    ['bad type', vol('    type: nfs\n' + GOOD_CAPS), 'volumes[0](v1).type', "'csi' or 'host'"],
    ['node_pool on csi', vol('    node_pool: x\n' + GOOD_CAPS), 'volumes[0](v1).node_pool', 'only applies to host'],
    ['secrets on host', vol('    type: host\n    secrets: { a: b }\n' + GOOD_CAPS), 'volumes[0](v1).secrets', 'only applies to csi'],
    ['nested secret', vol('    secrets: { a: { b: c } }\n' + GOOD_CAPS), 'volumes[0](v1).secrets.a', 'must be a string'],
    ['id not a string', 'volumes:\n  - id: [1]\n    plugin_id: p\n' + GOOD_CAPS, 'volumes[0].id', 'must be a string'],
    ['duplicate id', vol(GOOD_CAPS) + '  - id: v1\n    plugin_id: p\n' + GOOD_CAPS, 'volumes[1](v1).id', 'duplicate id'],
    ['volume not a map', 'volumes:\n  - just-a-string\n', 'volumes[0]', 'must be a map'],
    ['volumes not a list', 'volumes: { id: x }', 'volumes', 'must be a list'],
    ['unknown top-level key', 'volume:\n  - id: x\n', 'volume', 'unknown key'],
    ['not YAML', 'volumes: [\n', 'volumes', 'YAML does not parse'],
  ])('%s → %s', (_label, text, path, message) => {
    const errors = volumeErrors(text);
    expect(errors).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it('lists every problem of every volume at once', () => {
    const errors = volumeErrors('volumes:\n  - id: a\n    capacity_min: x\n  - id: b\n    plugin_id: p\n    capacity_max: y\n' + GOOD_CAPS);
    expect(errors.map((e) => e.path).sort()).toEqual([
      'volumes[0](a).capabilities',
      'volumes[0](a).capacity_min',
      'volumes[0](a).plugin_id',
      'volumes[1](b).capacity_max',
    ]);
  });
});

describe('planVolumes', () => {
  const spec = (id: string, type: 'csi' | 'host' = 'csi'): VolumeSpec => ({
    type,
    id,
    name: id,
    pluginId: 'p',
    capabilities: [{ accessMode: 'single-node-writer', attachmentMode: 'file-system' }],
  });

  it.each([
    ['first start creates all', [spec('a'), spec('b')], [], ['a', 'b'], [], []],
    ['unchanged keeps all', [spec('a'), spec('b')], [{ id: 'b', type: 'csi' as const }, { id: 'a', type: 'csi' as const }], [], ['a', 'b'], []],
    ['added and removed', [spec('a'), spec('c')], [{ id: 'a', type: 'csi' as const }, { id: 'b', type: 'csi' as const }], ['c'], ['a'], ['b']],
    ['all removed', [], [{ id: 'x', type: 'csi' as const }, { id: 'y', type: 'host' as const }], [], [], ['x', 'y']],
    ['type change is remove + create', [spec('a', 'host')], [{ id: 'a', type: 'csi' as const }], ['a'], [], ['a']],
    ['duplicate existing rows are removed once', [], [{ id: 'x', type: 'csi' as const }, { id: 'x', type: 'csi' as const }], [], [], ['x']],
  ])('%s', (_label, desired, existing, create, keep, remove) => {
    const plan = planVolumes(desired, existing);
    expect(plan.create.map((v) => v.id)).toEqual(create);
    expect(plan.keep.map((v) => v.id)).toEqual(keep);
    expect(plan.remove.map((v) => v.id)).toEqual(remove);
  });

  it('plans a volume recorded by the same operation as a create again: its record does not prove Nomad has it', () => {
    const existing = [
      { id: 'a', type: 'csi' as const, createdBy: 'op-1' },
      { id: 'b', type: 'csi' as const, createdBy: 'op-0' },
      { id: 'c', type: 'csi' as const, createdBy: null },
    ];
    const again = planVolumes([spec('a'), spec('b'), spec('c')], existing, 'op-1');
    expect({ create: again.create.map((v) => v.id), keep: again.keep.map((v) => v.id), remove: again.remove }).toEqual({ create: ['a'], keep: ['b', 'c'], remove: [] });
    // another operation's plan keeps it, and without an operation nothing changes
    expect(planVolumes([spec('a')], existing, 'op-2').keep.map((v) => v.id)).toEqual(['a']);
    expect(planVolumes([spec('a')], existing).keep.map((v) => v.id)).toEqual(['a']);
    // dropped from the template, it is removed whoever recorded it
    expect(planVolumes([], existing, 'op-1').remove.map((v) => v.id)).toEqual(['a', 'b', 'c']);
  });

  it('returns the desired specs themselves and the existing type for removals', () => {
    const a = spec('a');
    const plan = planVolumes([a], [{ id: 'h', type: 'host' }]);
    expect(plan.create[0]).toBe(a);
    expect(plan.remove).toEqual([{ id: 'h', type: 'host' }]);
  });
});
