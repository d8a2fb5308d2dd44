import { readFileSync } from 'node:fs';
import { parse as parseHcl } from '@cdktf/hcl2json';
import YAML from 'yaml';
import { ErrorType, KnotError } from '../../../core/errors';
import {
  checkTemplate,
  findTemplateExpressions,
  renderTemplate,
  AGENT_TOKEN_PLACEHOLDER,
  type RenderContext,
} from '../../../core/render';
import { sampleRenderContext } from '../../../core/render-sample';

/** The seed's example files, kept verbatim in examples/templates/debian. */
function seedBlock(filename: 'Nomad-Job' | 'Volume-Definition'): string {
  return readFileSync(`${__dirname}/../../../examples/templates/debian/${filename === 'Nomad-Job' ? 'job.nomad.hcl' : 'volumes.yaml'}`, 'utf8');
}

function context(overrides: Partial<RenderContext> = {}): RenderContext {
  return {
    space: { id: '01hzx0000000000000000space', name: 'mytest' },
    user: { id: 'u1', username: 'alice', email: 'alice@example.com', timezone: 'Europe/London' },
    server: { url: 'https://knot.example.com', wildcard_domain: '*.knot.example.com', agent_endpoint: 'knot.example.com:3010' },
    template: { id: 't1', name: 'example' },
    nomad: { dc: 'dc1', region: 'global' },
    var: { registry: 'ghcr.io', empty: '' },
    param: { size: '20G', count: 3, debug: true, blank: '' },
    ...overrides,
  };
}

/**
 * Decodes the body of an HCL quoted string the way HCL's scanner does, refusing anything that is not
 * a plain literal: an unescaped `"` (end of string), a real `${`/`%{` template, a raw newline, an
 * unknown escape. Returns the exact string value HCL would see.
 */
function hclStringValue(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    const next = body[i + 1];
    if (ch === '"') throw new Error(`string ends early at ${i}: ${body}`);
    if (ch === '\n' || ch === '\r') throw new Error('raw newline in string');
    if (ch === '\\') {
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
      if (next !== undefined && simple[next] !== undefined) {
        out += simple[next];
        i++;
      } else if (next === 'u') {
        out += String.fromCharCode(parseInt(body.slice(i + 2, i + 6), 16));
        i += 5;
      } else throw new Error(`bad escape \\${next ?? ''}`);
    } else if ((ch === '$' || ch === '%') && next === ch && body[i + 2] === '{') {
      out += `${ch}{`;
      i += 2;
    } else if ((ch === '$' || ch === '%') && next === '{') {
      throw new Error(`live template sequence at ${i}: ${body}`);
    } else out += ch;
  }
  return out;
}

/** Renders `name = "<prefix><expr><suffix>"` and returns the HCL value of the string. */
function renderedHclString(prefix: string, suffix: string, value: string): string {
  const out = renderTemplate(`x = "${prefix}\${{ .param.v }}${suffix}"\n`, context({ param: { v: value } }), { escape: 'hcl' });
  const m = /^x = "(.*)"\n$/s.exec(out);
  if (!m?.[1] && m?.[1] !== '') throw new Error(`not one string attribute: ${out}`);
  return hclStringValue(m[1]);
}

function renderError(fn: () => unknown): KnotError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KnotError) return e;
    throw e;
  }
  throw new Error('expected a KnotError');
}

describe('renderTemplate: names', () => {
  it.each([
    ['.space.id', '01hzx0000000000000000space'],
    ['.space.name', 'mytest'],
    ['.user.id', 'u1'],
    ['.user.username', 'alice'],
    ['.user.email', 'alice@example.com'],
    ['.user.timezone', 'Europe/London'],
    ['user.timezone', 'Europe/London'],
    ['space.name', 'mytest'],
    ['.server.url', 'https://knot.example.com'],
    ['.server.wildcard_domain', '*.knot.example.com'],
    ['.server.agent_endpoint', 'knot.example.com:3010'],
    ['.template.id', 't1'],
    ['.template.name', 'example'],
    ['.nomad.dc', 'dc1'],
    ['.nomad.region', 'global'],
    ['.var.registry', 'ghcr.io'],
    ['.var.empty', ''],
    ['.param.size', '20G'],
    ['.param.count', '3'],
    ['.param.debug', 'true'],
  ])('${{ %s }} → %s', (name, expected) => {
    expect(renderTemplate(`[\${{ ${name} }}]`, context(), { escape: 'none' })).toBe(`[${expected}]`);
  });

  it.each(['${{.space.id}}', '${{ .space.id }}', '${{   .space.id\t}}'])('accepts %s with or without spaces', (text) => {
    expect(renderTemplate(text, context(), { escape: 'none' })).toBe('01hzx0000000000000000space');
  });

  it('leaves text without expressions (including HCL ${…} interpolations) alone', () => {
    const text = 'port = "${NOMAD_PORT_http}" # {{ not ours }}\n';
    expect(renderTemplate(text, context(), { escape: 'hcl' })).toBe(text);
  });
});

describe('renderTemplate: pipes', () => {
  it.each([
    ['.param.size | default "10G"', '20G'],
    ['.param.missing | default "10G"', '10G'],
    ['.param.blank | default "x"', 'x'],
    ['.var.nope | default "fallback"', 'fallback'],
    ['.param.missing | default 5', '5'],
    ['.param.debug | default false', 'true'],
    ['.space.name | toUpper', 'MYTEST'],
    ['.user.email | toLower', 'alice@example.com'],
    ['.param.missing | default "AbC" | toLower', 'abc'],
    ['.param.missing | default "a b" | toUpper | quote', '"A B"'],
    ['.space.name | quote', '"mytest"'],
    ['.param.count | json', '3'],
    ['.param.debug | json', 'true'],
    ['.space.name | json', '"mytest"'],
    ['.param.missing | default "say \\"hi\\"" | quote', '"say \\"hi\\""'],
  ])('none: ${{ %s }} → %s', (expr, expected) => {
    expect(renderTemplate(`\${{ ${expr} }}`, context(), { escape: 'none' })).toBe(expected);
  });

  it.each([
    ['quote in code emits an HCL string', 'x = ${{ .space.name | quote }}', 'x = "mytest"'],
    ['json of a number is bare', 'count = ${{ .param.count | json }}', 'count = 3'],
    ['json of a string is an HCL string', 'x = ${{ .var.registry | json }}', 'x = "ghcr.io"'],
    ['number bare in code', 'count = ${{ .param.count }}', 'count = 3'],
    ['boolean bare in code', 'debug = ${{ .param.debug }}', 'debug = true'],
    ['simple token bare in code', 'size = ${{ .param.size }}', 'size = 20G'],
    ['quote escapes', 'x = ${{ .param.missing | default "a\\"b${c}" | quote }}', 'x = "a\\"b$${c}"'],
  ])('hcl: %s', (_label, text, expected) => {
    expect(renderTemplate(text, context(), { escape: 'hcl' })).toBe(expected);
  });
});

describe('renderTemplate: errors', () => {
  it.each([
    ['unknown root', 'x ${{ .spce.id }}', '1:3', "unknown name '.spce.id'"],
    ['unknown field', '${{ .space.owner }}', '1:1', "unknown name '.space.owner'"],
    ['too many segments', '${{ .space.id.x }}', '1:1', 'malformed name'],
    ['one segment', '${{ .space }}', '1:1', 'malformed name'],
    ['empty', '${{ }}', '1:1', 'empty expression'],
    ['missing variable', '${{ .var.nope }}', '1:1', 'no value for .var.nope'],
    ['missing parameter', '${{ .param.nope }}', '1:1', 'no value for .param.nope'],
    ['pipe before default on a missing value', '${{ .param.nope | toUpper | default "x" }}', '1:1', 'no value for .param.nope'],
    ['unknown pipe', '${{ .space.id | upper }}', '1:1', "unknown pipe 'upper'"],
    ['empty pipe', '${{ .space.id | }}', '1:1', 'empty pipe'],
    ['default without argument', '${{ .space.id | default }}', '1:1', 'default takes 1 argument(s), got 0'],
    ['quote with an argument', '${{ .space.id | quote "x" }}', '1:1', 'quote takes 0 argument(s), got 1'],
    ['name as argument', '${{ .param.x | default .space.id }}', '1:1', 'must be a literal'],
    ['quote not last', '${{ .space.id | quote | toUpper }}', '1:1', 'quote must be the last pipe'],
    ['unterminated string', '${{ .param.x | default "abc }}', '1:1', 'unclosed'],
    ['bad character', '${{ .space.id ! }}', '1:1', "unexpected character '!'"],
    ['unclosed on its line', 'a\n  b = "${{ .space.id"\n', '2:8', 'unclosed `${{`'],
    ['nested opener', '${{ .space.id ${{ .space.name }}', '1:1', 'unclosed'],
    ['quote inside an HCL string', 'x = "${{ .space.id | quote }}"', '1:6', 'emits a complete HCL literal'],
    ['unsafe bare string in HCL code', 'x = ${{ .user.email }}', '1:5', "can't be placed outside an HCL string"],
    ['expression after a backslash', 'x = "a\\${{ .space.id }}"', '1:8', 'follows a backslash'],
  ])('%s', (_label, text, position, message) => {
    const err = renderError(() => renderTemplate(text, context(), { escape: 'hcl', path: 'job' }));
    expect(err.type).toBe(ErrorType.TemplateRender);
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0]?.path).toBe('job');
    expect(err.errors[0]?.message).toContain(`${position}:`);
    expect(err.errors[0]?.message).toContain(message);
    expect(err.message).toContain(position);
  });

  it('collects every problem with its line:column and names the expression', () => {
    const text = 'a = "${{ .space.nope }}"\nb = "${{ .param.x | bogus }}"\n\nc = "${{ .var.y }}" d = "${{ .x';
    const err = renderError(() => renderTemplate(text, context(), { escape: 'hcl', path: 'job' }));
    expect(err.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^1:6: unknown name '\.space\.nope'.* in \$\{\{ \.space\.nope \}\}$/),
      expect.stringMatching(/^2:6: unknown pipe 'bogus'.* in \$\{\{ \.param\.x \| bogus \}\}$/),
      expect.stringMatching(/^4:6: no value for \.var\.y/),
      expect.stringMatching(/^4:26: unclosed/),
    ]);
  });

  it('never renders a missing value as an empty string', () => {
    expect(() => renderTemplate('image = "${{ .var.image }}"', context(), { escape: 'hcl' })).toThrow(/no value for \.var\.image/);
  });
});

describe('renderTemplate: HCL escaping keeps user values inside their string', () => {
  const attacks: [string, string][] = [
    ['quote', 'a"b'],
    ['quote and new attribute', '" \n evil = "x'],
    ['backslash', 'C:\\path\\'],
    ['trailing backslash before the closing quote', 'x\\'],
    ['newline, CR, tab', 'a\nb\r\nc\td'],
    ['HCL interpolation', '${file("/etc/passwd")}'],
    ['HCL directive', '%{ if true }x%{ endif }'],
    ['already escaped interpolation', '$${x}'],
    ['many dollars', '$$$${x}'],
    ['closing braces of ours', '}} ${{ .space.id }}'],
    ['block breakout', '"\n}\njob "evil" {\n'],
    ['control characters', 'a\u0000b\u0007c\u001bd\u007f'],
    ['unicode', 'zoë 🚀 \u2028 日本'],
    ['lone dollar', '$'],
    ['lone percent', '%'],
    ['only a brace', '{'],
  ];

  it.each(attacks)('%s: value survives exactly, mid-string', (_label, value) => {
    expect(renderedHclString('pre_', '_post', value)).toBe(`pre_${value}_post`);
  });

  it.each(attacks)('%s: value survives exactly, whole string', (_label, value) => {
    expect(renderedHclString('', '', value)).toBe(value);
  });

  it.each([
    ['$ before, { value', '$', '', '{evil}'],
    ['% before, { value', '%', '', '{evil}'],
    ['$$ before, { value', '$$', '', '{x}'],
    ['value $, { after', '', '{evil}', '$'],
    ['value %, { after', '', '{x}', 'a%'],
  ])('template sequences formed across the boundary: %s', (_label, prefix, suffix, value) => {
    expect(renderedHclString(prefix, suffix, value)).toBe(`${prefix}${value}${suffix}`);
  });

  it('adjacent expressions cannot form a template sequence together', () => {
    const out = renderTemplate('x = "${{ .var.a }}${{ .var.b }}"', context({ var: { a: '$', b: '{evil}' } }), { escape: 'hcl' });
    expect(hclStringValue(/^x = "(.*)"$/.exec(out)?.[1] ?? '"')).toBe('${evil}');
  });

  it('the seed job renders to HCL that parses, with hostile values kept in their strings', async () => {
    const hostile = 'x" }\n  evil = "${env("HOME")}';
    const ctx = context({ space: { id: '01hzx0000000000000000space', name: hostile }, user: { ...context().user, timezone: hostile } });
    // The job name is a label in the seed (`job "${{.space.name}}-..."`), a quoted string too.
    const out = renderTemplate(seedBlock('Nomad-Job'), ctx, { escape: 'hcl', path: 'job' });
    const parsed = (await parseHcl('job.hcl', out)) as { job: Record<string, { group: Record<string, { task: Record<string, { env: { TZ: string }[] }[]> }[]> }[]> };
    const jobName = Object.keys(parsed.job)[0] ?? '';
    expect(jobName.replace(/\$\$\{/g, '${')).toBe(`${hostile}-alice`);
    const tz = parsed.job[jobName]?.[0]?.group.debian?.[0]?.task.debian?.[0]?.env[0]?.TZ ?? '';
    // hcl2json keeps template-literal escapes ($${); undoing them gives the value.
    expect(tz.replace(/\$\$\{/g, '${')).toBe(hostile);
    expect(out).toContain('source = "debian_01hzx0000000000000000space_home"');
  });

  it.each([
    ['inside a heredoc values keep backslashes and quotes literally', 'x = <<EOF\nv=${{ .var.a }}\nEOF\n', 'a"b\\c', 'x = <<EOF\nv=a"b\\c\nEOF\n'],
    ['inside a heredoc template sequences are neutralised', 'x = <<-EOT\n  ${{ .var.a }}\n  EOT\n', '${x}', 'x = <<-EOT\n  $${x}\n  EOT\n'],
    ['inside a line comment a newline cannot start code', '# owner ${{ .var.a }}\n', 'x\nevil = 1', '# owner x evil = 1\n'],
    ['inside a block comment */ cannot end it', '/* ${{ .var.a }} */', '*/ evil', '/* * / evil */'],
    ['a string after a comment with a quote is still a string', '# it\'s "quoted\nx = "${{ .var.a }}"\n', 'a"b', 'x = "a\\"b"'],
    ['interpolation inside a string is code', 'x = "${ upper(${{ .var.a }}) }"', 'abc', 'x = "${ upper(abc) }"'],
  ])('%s', (_label, text, value, expected) => {
    expect(renderTemplate(text, context({ var: { a: value } }), { escape: 'hcl' })).toContain(expected);
  });

  it('a heredoc value cannot end the heredoc', () => {
    const err = renderError(() => renderTemplate('x = <<EOF\n${{ .var.a }}\nEOF\n', context({ var: { a: 'EOF' } }), { escape: 'hcl' }));
    expect(err.errors[0]?.message).toContain("would end the heredoc");
    const err2 = renderError(() => renderTemplate('x = <<EOF\nv ${{ .var.a }}\nEOF\n', context({ var: { a: 'x\nEOF\ny = 1' } }), { escape: 'hcl' }));
    expect(err2.errors[0]?.message).toContain("would end the heredoc");
  });
});

describe('renderTemplate: YAML is rendered structurally', () => {
  const hostile = [
    'a: b',
    'x"\nevil: 1',
    "x'\nevil: 1",
    '- item',
    '{evil: 1}',
    '[1, 2]',
    '#comment',
    '&anchor *alias',
    '|\n  block',
    'line1\nline2',
    '"quoted"',
    '}} ${{ .space.id }}',
    'zoë 🚀',
  ];

  it.each(hostile)('value %j stays one string in plain, double- and single-quoted scalars', (value) => {
    const text = ['plain: pre_${{ .var.a }}', 'dq: "pre_${{ .var.a }}"', "sq: 'pre_${{ .var.a }}'", 'whole: ${{ .var.a }}', 'block: |', '  pre_${{ .var.a }}', ''].join('\n');
    const out = renderTemplate(text, context({ var: { a: value } }), { escape: 'yaml' });
    expect(YAML.parse(out)).toEqual({ plain: `pre_${value}`, dq: `pre_${value}`, sq: `pre_${value}`, whole: value, block: `pre_${value}\n` });
  });

  it.each([
    ['a plain whole-value number is a number', 'n: ${{ .param.count }}', { n: 3 }],
    ['a plain whole-value boolean is a boolean', 'b: ${{ .param.debug }}', { b: true }],
    ['quote forces a string', 'n: ${{ .param.count | quote }}', { n: '3' }],
    ['json keeps the native type', 'n: ${{ .param.count | json }}', { n: 3 }],
    ['a size stays a string', 'size: ${{ .param.size }}', { size: '20G' }],
    ['quoted scalars stay strings', 'n: "${{ .param.count }}"', { n: '3' }],
    ['an escaped default argument inside a double-quoted scalar', 'x: "${{ .param.none | default \\"10G\\" }}"', { x: '10G' }],
    ['expressions in keys', '"${{ .space.name }}_key": 1', { mytest_key: 1 }],
  ])('%s', (_label, text, expected) => {
    expect(YAML.parse(renderTemplate(text, context(), { escape: 'yaml' }))).toEqual(expected);
  });

  it('reports errors inside scalars with their line:column', () => {
    const err = renderError(() => renderTemplate('volumes:\n  - id: "x_${{ .space.nope }}"\n    name: ${{ .var.nope }}\n', context(), { escape: 'yaml', path: 'volumes' }));
    expect(err.type).toBe(ErrorType.TemplateRender);
    expect(err.errors).toEqual([
      { path: 'volumes', message: expect.stringMatching(/^2:12: unknown name '\.space\.nope'/) },
      { path: 'volumes', message: expect.stringMatching(/^3:11: no value for \.var\.nope/) },
    ]);
  });

  it.each([[''], ['# only a comment\n'], ['volumes: []  # none\n']])('returns YAML without expressions untouched: %j', (text) => {
    expect(renderTemplate(text, context(), { escape: 'yaml' })).toBe(text);
  });

  it('reports YAML that does not parse', () => {
    const err = renderError(() => renderTemplate('a: [1, 2\nb: "x', context(), { escape: 'yaml', path: 'volumes' }));
    expect(err.errors[0]?.message).toMatch(/YAML does not parse/);
  });
});

describe('findTemplateExpressions / checkTemplate', () => {
  it('lists expressions with positions, names and pipes', () => {
    const found = findTemplateExpressions('a\n  x = "${{ .param.size | default "10G" | toUpper }}" ${{user.timezone}}');
    expect(found.map((e) => ({ name: e.name, line: e.line, column: e.column, pipes: e.pipes }))).toEqual([
      { name: ['param', 'size'], line: 2, column: 8, pipes: [{ name: 'default', args: ['10G'] }, { name: 'toUpper', args: [] }] },
      { name: ['user', 'timezone'], line: 2, column: 54, pipes: [] },
    ]);
  });

  it('throws for malformed expressions', () => {
    expect(() => findTemplateExpressions('${{ .space.id | nope }}')).toThrow(KnotError);
  });

  it.each([
    ['known names pass', '${{ .var.registry }} ${{ .param.size }}', []],
    ['the agent token is a known name', 'KNOT_AGENT_TOKEN = "${{ .space.agent_token }}"', []],
    ['unknown variable', 'x ${{ .var.regsitry }}', ["1:3: unknown variable 'regsitry'"]],
    ['undeclared parameter even with default', '${{ .param.sise | default "1" }}', ["1:1: unknown parameter 'sise'"]],
    ['optional parameter without default', '${{ .param.note }}', ["1:1: parameter 'note' is optional"]],
    ['optional parameter behind default', '${{ .param.note | default "" }}', []],
    ['syntax errors too', '${{ .space.idd }}', ["1:1: unknown name '.space.idd'"]],
  ])('%s', (_label, text, messages) => {
    const errors = checkTemplate(text, { vars: ['registry'], params: ['size', 'note'], optionalParams: ['note'] }, { path: 'job' });
    expect(errors.map((e) => e.path)).toEqual(messages.map(() => 'job'));
    messages.forEach((m, i) => expect(errors[i]?.message).toContain(m));
  });

  it('renders .space.agent_token as the placeholder unless the context holds a real token', () => {
    const text = 'env { KNOT_AGENT_TOKEN = "${{ .space.agent_token }}" }';
    expect(renderTemplate(text, context(), { escape: 'hcl' })).toBe(`env { KNOT_AGENT_TOKEN = "${AGENT_TOKEN_PLACEHOLDER}" }`);
    expect(renderTemplate(text, sampleRenderContext('example'), { escape: 'hcl' })).toContain(AGENT_TOKEN_PLACEHOLDER);
    const real = context({ space: { id: '01hzx0000000000000000space', name: 'mytest', agent_token: 'knot_agent_abc-_123' } });
    expect(renderTemplate(text, real, { escape: 'hcl' })).toBe('env { KNOT_AGENT_TOKEN = "knot_agent_abc-_123" }');
  });

  it('reads YAML expressions from scalar values', () => {
    expect(checkTemplate('a: "${{ .param.size | default \\"1G\\" }}"', { vars: [], params: ['size'] }, { format: 'yaml' })).toEqual([]);
  });
});

describe('sampleRenderContext', () => {
  it('renders the seed job and volumes with placeholders', () => {
    const ctx = sampleRenderContext('example', {
      parameters: [
        { variable: 'size', type: 'string', defaultValue: '10G' },
        { variable: 'cpus', type: 'number', required: true, min: 2 },
        { variable: 'flavour', type: 'enum', required: true, options: ['a', 'b'] },
        { variable: 'gpu', type: 'boolean', required: true },
        { variable: 'note', type: 'string' },
      ],
      varNames: ['registry'],
    });
    expect(ctx.template.name).toBe('example');
    expect(ctx.param).toEqual({ size: '10G', cpus: 2, flavour: 'a', gpu: false });
    expect(ctx.var.registry).toMatch(/^sample-/);
    expect(ctx.space.id).toMatch(/^[0-9a-z]{26}$/);
    expect(renderTemplate(seedBlock('Nomad-Job'), ctx, { escape: 'hcl' })).toContain('TZ = "UTC"');
    expect(renderTemplate(seedBlock('Volume-Definition'), ctx, { escape: 'yaml' })).toContain(`debian_${ctx.space.id}_home`);
  });
});
