/** Placing template problems at their line and column (core/diagnostics), for the web editor. */
import {
  hclDiagnostics,
  messagePosition,
  offsetAt,
  placeTemplateErrors,
  positionAt,
  templatePosition,
  yamlPathOf,
  yamlPathPosition,
} from '../../../core/diagnostics';
import { renderTemplateMapped } from '../../../core/render';
import { sampleRenderContext } from '../../../core/render-sample';

describe('positions and offsets', () => {
  const text = 'ab\ncde\n\nf';
  it('round-trip every offset', () => {
    for (let o = 0; o <= text.length; o++) expect(offsetAt(text, positionAt(text, o))).toBe(o);
    expect(positionAt(text, 3)).toEqual({ line: 2, column: 1 });
    expect(positionAt(text, 8)).toEqual({ line: 4, column: 1 });
  });
  it('clamp a column past the line end and a line past the text', () => {
    expect(offsetAt(text, { line: 1, column: 99 })).toBe(2);
    expect(offsetAt(text, { line: 9, column: 1 })).toBe(text.length);
  });
});

describe('positions named in messages', () => {
  it("the renderer's `line:column:` and YAML's `parse at line:column`", () => {
    expect(messagePosition('3:14: unknown name .nope in ${{ .nope }}')).toEqual({ line: 3, column: 14 });
    expect(messagePosition('YAML does not parse at 2:5: Nested mappings are not allowed')).toEqual({ line: 2, column: 5 });
    expect(messagePosition('is required for nomad templates')).toBeNull();
  });

  it('every diagnostic of an HCL message, with its own text (hcl2json and Nomad join several)', () => {
    const msg =
      'Failed to parse job: input.hcl:5,28-6,1: Invalid multi-line string; Quoted strings may not be split. input.hcl:7,4-8,1: Unterminated template string; No closing marker was found for the string.';
    expect(hclDiagnostics(msg)).toEqual([
      { line: 5, column: 28, message: 'Invalid multi-line string; Quoted strings may not be split.' },
      { line: 7, column: 4, message: 'Unterminated template string; No closing marker was found for the string.' },
    ]);
    expect(hclDiagnostics('parse config: [input.hcl:2,11-12: Invalid expression; Expected the start of an expression.]')).toEqual([
      { line: 2, column: 11, message: 'Invalid expression; Expected the start of an expression.' },
    ]);
    expect(hclDiagnostics('Missing job block; A job block is required')).toEqual([]);
  });
});

describe('rendered positions back to the template', () => {
  const template = 'job "x" {\n  name = "${{ .space.name }}-${{ .user.username }}" = 3\n  dc = "${{ .nomad.dc }}"\n}\n';
  const rendered = renderTemplateMapped(template, sampleRenderContext('t'), { escape: 'hcl', path: 'job' });

  it('after values longer or shorter than their expressions, the column shifts back', () => {
    expect(rendered.text).toContain('name = "sample-space-sample-user" = 3');
    const renderedEq = rendered.text.split('\n')[1]!.indexOf('" = 3') + 3;
    const templateEq = template.split('\n')[1]!.indexOf('" = 3') + 3;
    expect(templatePosition(template, rendered.text, rendered.spans, { line: 2, column: renderedEq })).toEqual({ line: 2, column: templateEq });
  });

  it('inside a value: the expression that produced it; before any: unchanged', () => {
    const inValue = rendered.text.split('\n')[1]!.indexOf('space-') + 1;
    expect(templatePosition(template, rendered.text, rendered.spans, { line: 2, column: inValue })).toEqual({ line: 2, column: template.split('\n')[1]!.indexOf('${{') + 1 });
    expect(templatePosition(template, rendered.text, rendered.spans, { line: 1, column: 5 })).toEqual({ line: 1, column: 5 });
    expect(templatePosition(template, rendered.text, rendered.spans, { line: 4, column: 1 })).toEqual({ line: 4, column: 1 });
  });
});

describe('volume errors by YAML path', () => {
  const yaml = 'volumes:\n  - id: "a_${{ .space.id }}"\n    plugin_id: hostpath\n    capabilities:\n      - access_mode: single-node-writer\n        colour: red\n';
  it('parses paths, ignoring the (id) label', () => {
    expect(yamlPathOf('volumes[0](a_01j).capabilities[0].colour')).toEqual(['volumes', 0, 'capabilities', 0, 'colour']);
  });
  it('finds the key, or the nearest parent that exists', () => {
    expect(yamlPathPosition(yaml, 'volumes[0](a_x).plugin_id')).toEqual({ line: 3, column: 5 });
    expect(yamlPathPosition(yaml, 'volumes[0].capabilities[0].colour')).toEqual({ line: 6, column: 9 });
    expect(yamlPathPosition(yaml, 'volumes[0].capacity_min')).toEqual({ line: 2, column: 5 });
    expect(yamlPathPosition('volumes: [', 'volumes[0]')).toBeNull();
  });
  it('placeTemplateErrors adds line and column where it can and keeps the rest as they are', () => {
    const errors = [
      { path: 'job', message: '2:9: unknown name .nope in ${{ .nope }}' },
      { path: 'volumes[0](a_x).capabilities[0].colour', message: 'unknown key' },
      { path: 'name', message: 'is required' },
      { path: 'job', message: 'Nomad cannot parse the rendered job: 4:2: x', line: 4, column: 2 },
    ];
    expect(placeTemplateErrors(errors, { job: 'x', volumes: yaml })).toEqual([
      { path: 'job', message: '2:9: unknown name .nope in ${{ .nope }}', line: 2, column: 9 },
      { path: 'volumes[0](a_x).capabilities[0].colour', message: 'unknown key', line: 6, column: 9 },
      { path: 'name', message: 'is required' },
      { path: 'job', message: 'Nomad cannot parse the rendered job: 4:2: x', line: 4, column: 2 },
    ]);
  });
});
