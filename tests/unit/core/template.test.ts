import { readFileSync } from 'node:fs';
import { ErrorType, KnotError } from '../../../core/errors';
import { checkTemplateContent, isWithinSchedule, parseDuration, parseTemplateContent, templateContentSchema, type Schedule } from '../../../core/template';

/** The seed's example files, kept verbatim in examples/templates/debian. */
function seedBlock(filename: 'Nomad-Job' | 'Volume-Definition'): string {
  return readFileSync(`${__dirname}/../../../examples/templates/debian/${filename === 'Nomad-Job' ? 'job.nomad.hcl' : 'volumes.yaml'}`, 'utf8');
}

const seedTemplate = {
  name: 'example',
  displayName: 'Example',
  description: 'The template of seed 000',
  job: seedBlock('Nomad-Job'),
  volumes: seedBlock('Volume-Definition'),
  groups: ['developers'],
};

describe('templateContentSchema', () => {
  it('accepts the seed template and fills defaults', () => {
    const t = templateContentSchema.parse(seedTemplate);
    expect(t.type).toBe('nomad');
    expect(t.startTimeout).toBe('5m');
    expect(checkTemplateContent(seedTemplate, [])).toEqual([]);
  });

  it('accepts a full template with parameters, schedule and durations', () => {
    const full = {
      ...seedTemplate,
      job: seedTemplate.job.replace('image = "ghcr.io/paularlott/knot-base-debian:bookworm"', 'image = "${{ .var.registry }}/debian:${{ .param.tag }}"'),
      volumes: seedTemplate.volumes.replace('capacity_max: 10G', 'capacity_max: ${{ .param.disk | default "10G" }}').replace('capacity_min: 1G', 'capacity_min: ${{ .param.size }}'),
      parameters: [
        { variable: 'tag', type: 'enum', options: ['bookworm', 'trixie'], defaultValue: 'bookworm' },
        { variable: 'disk', type: 'string', validation: '^\\d+G$' },
        { variable: 'size', type: 'string', required: true, validation: '^\\d+G$' },
      ],
      maxUptime: '8h',
      idleTimeout: '1h30m',
      startTimeout: '90s',
      schedule: { mon: [{ from: '08:00', to: '18:00' }], sat: [] },
      version: '2.1.0',
    };
    expect(checkTemplateContent(full, ['registry'])).toEqual([]);
    expect(parseTemplateContent(full, ['registry']).parameters?.map((p) => p.variable)).toEqual(['tag', 'disk', 'size']);
  });

  it('accepts a manual template without a job', () => {
    expect(checkTemplateContent({ name: 'manual-configuration', type: 'manual' }, [])).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['unknown field', { ...seedTemplate, colour: 'red' }, '(template)', 'colour'],
    ['bad name', { ...seedTemplate, name: 'Example' }, 'name', 'lowercase'],
    ['nomad without job', { name: 'x' }, 'job', 'required for nomad'],
    ['nomad with blank job', { name: 'x', job: '  ' }, 'job', 'required for nomad'],
    ['manual with job', { name: 'x', type: 'manual', job: 'job "x" {}' }, 'job', 'not allowed for manual'],
    ['manual with volumes', { name: 'x', type: 'manual', volumes: 'volumes: []' }, 'volumes', 'not allowed for manual'],
    ['bad type', { ...seedTemplate, type: 'docker' }, 'type', ''],
    ['bad duration', { ...seedTemplate, maxUptime: '8 hours' }, 'maxUptime', 'duration'],
    ['numeric duration', { ...seedTemplate, startTimeout: 300 }, 'startTimeout', ''],
    ['bad version', { ...seedTemplate, version: '2.1' }, 'version', 'X.Y.Z'],
    ['bad group', { ...seedTemplate, groups: ['Dev Team'] }, 'groups[0]', 'group name'],
    ['bad schedule day', { ...seedTemplate, schedule: { monday: [] } }, 'schedule', 'monday'],
    ['bad schedule time', { ...seedTemplate, schedule: { mon: [{ from: '8:00', to: '18:00' }] } }, 'schedule.mon[0].from', 'HH:MM'],
    ['backwards window', { ...seedTemplate, schedule: { tue: [{ from: '18:00', to: '08:00' }] } }, 'schedule.tue[0].to', 'before'],
    ['parameter definition', { ...seedTemplate, parameters: [{ variable: 'a', type: 'string' }, { variable: 'b', type: 'enum' }] }, 'parameters[1].options', 'at least one option'],
    ['unknown variable in job', { ...seedTemplate, job: 'x = "${{ .var.nope }}"' }, 'job', "unknown variable 'nope'"],
    ['undeclared parameter in job', { ...seedTemplate, job: 'x = "${{ .param.nope }}"' }, 'job', "unknown parameter 'nope'"],
    ['optional parameter without default in job', { ...seedTemplate, job: 'x = "${{ .param.a }}"', parameters: [{ variable: 'a', type: 'string' }] }, 'job', 'is optional'],
    ['unknown name in job', { ...seedTemplate, job: 'x = "${{ .space.owner }}"' }, 'job', '1:6'],
    ['quote inside a string in job', { ...seedTemplate, job: 'x = "${{ .space.name | quote }}"' }, 'job', 'complete HCL literal'],
    ['unknown name in volumes', { ...seedTemplate, volumes: 'volumes:\n  - id: ${{ .space.nope }}' }, 'volumes', "2:9: unknown name '.space.nope'"],
    ['volumes that do not parse as YAML', { ...seedTemplate, volumes: 'volumes: [' }, 'volumes', 'YAML does not parse'],
    ['invalid volume', { ...seedTemplate, volumes: seedTemplate.volumes.replace('capacity_min: 1G', 'capacity_min: 1X') }, 'volumes[0](debian_01jsamp1e000000000000space_home).capacity_min', 'invalid size'],
  ])('%s → %s', (_label, content, path, message) => {
    const errors = checkTemplateContent(content, []);
    expect(errors).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it('collects problems from every part at once', () => {
    const errors = checkTemplateContent(
      { ...seedTemplate, job: 'a = "${{ .var.x }}"\nb = "${{ .param.y }}"', volumes: 'volumes:\n  - id: v\n', parameters: [] },
      [],
    );
    expect(errors.map((e) => e.path)).toEqual(['job', 'job', 'volumes[0](v).plugin_id', 'volumes[0](v).capabilities']);
  });

  it('parseTemplateContent throws a Validation error listing all problems', () => {
    try {
      parseTemplateContent({ name: 'x', job: '${{ .var.a }} ${{ .var.b }}' }, []);
      throw new Error('expected rejection');
    } catch (e) {
      expect((e as KnotError).type).toBe(ErrorType.Validation);
      expect((e as KnotError).errors).toHaveLength(2);
    }
  });
});

describe('parseDuration', () => {
  it.each([
    ['8h', 8 * 3600_000],
    ['90m', 90 * 60_000],
    ['1h30m', 90 * 60_000],
    ['45s', 45_000],
    ['1h0m5s', 3605_000],
    ['0m', 0],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([[''], ['h'], ['1d'], ['5 m'], ['30m1h'], ['-5m'], ['1.5h']])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('isWithinSchedule', () => {
  const schedule: Schedule = {
    mon: [
      { from: '08:00', to: '12:00' },
      { from: '13:00', to: '24:00' },
    ],
    sun: [],
  };
  // 2025-01-06 is a Monday.
  it.each([
    ['inside a morning window (UTC)', '2025-01-06T09:30:00Z', 'UTC', true],
    ['window start is inclusive', '2025-01-06T08:00:00Z', 'UTC', true],
    ['window end is exclusive', '2025-01-06T12:00:00Z', 'UTC', false],
    ['lunch gap', '2025-01-06T12:30:00Z', 'UTC', false],
    ['up to midnight', '2025-01-06T23:59:00Z', 'UTC', true],
    ['day not listed', '2025-01-07T09:00:00Z', 'UTC', false],
    ['day listed empty', '2025-01-05T09:00:00Z', 'UTC', false],
    ['wall clock of the time zone', '2025-01-06T07:30:00Z', 'Europe/Berlin', true],
    ['weekday of the time zone', '2025-01-06T23:30:00Z', 'Asia/Tokyo', false],
    ['weekday of the time zone (west)', '2025-01-07T02:00:00Z', 'America/New_York', true],
  ])('%s', (_label, iso, tz, expected) => {
    expect(isWithinSchedule(schedule, new Date(iso), tz)).toBe(expected);
  });

  it('no schedule means always', () => {
    expect(isWithinSchedule(undefined, new Date('2025-01-07T03:00:00Z'), 'UTC')).toBe(true);
  });

  it('an unknown time zone is a Validation error', () => {
    expect(() => isWithinSchedule(schedule, new Date(), 'Mars/Olympus')).toThrow(KnotError);
  });
});
