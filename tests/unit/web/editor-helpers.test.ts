/**
 * The template editors' pure parts (web/src/editor): the HCL tokenizer that knows knot's `${{ }}`
 * expressions, and the range a server problem at a line and column marks.
 */
import { StringStream } from '@codemirror/language';
import { Text } from '@codemirror/state';
import { hclParser } from '../../../web/src/editor/hcl-mode';
import { diagnosticRange } from '../../../web/src/editor/positions';

/** Every non-blank token of `src` as [text, style]. */
function tokens(src: string): [string, string | null][] {
  const state = hclParser.startState!(2);
  const out: [string, string | null][] = [];
  for (const line of src.split('\n')) {
    const s = new StringStream(line, 2, 2);
    while (!s.eol()) {
      const style = hclParser.token(s, state);
      if (s.current().trim()) out.push([s.current().trim(), style]);
      s.start = s.pos;
    }
  }
  return out;
}

describe('HCL highlighting with knot expressions', () => {
  it('block types, attributes, strings, numbers, comments', () => {
    expect(tokens('job "x" {\n  count = 1 # one\n  enabled = true\n}')).toEqual([
      ['job', 'keyword'],
      ['"', 'string'],
      ['x', 'string'],
      ['"', 'string'],
      ['{', 'bracket'],
      ['count', 'propertyName'],
      ['=', 'operator'],
      ['1', 'number'],
      ['# one', 'lineComment'],
      ['enabled', 'propertyName'],
      ['=', 'operator'],
      ['true', 'bool'],
      ['}', 'bracket'],
    ]);
  });

  it('a knot expression is one token in code, in strings and in heredocs; HCL interpolation is meta', () => {
    const t = tokens('job "${{.space.name}}-${{ .user.username }}" {\n  count = ${{ .param.count }}\n  x = "${NOMAD_PORT_http} $${literal}"\n  s = <<EOF\n  a ${{ .space.id }}\n  EOF\n}');
    expect(t.filter(([, style]) => style === 'macroName').map(([text]) => text)).toEqual(['${{.space.name}}', '${{ .user.username }}', '${{ .param.count }}', '${{ .space.id }}']);
    expect(t).toContainEqual(['${', 'meta']);
    expect(t).toContainEqual(['NOMAD_PORT_http', 'variableName']);
    expect(t).toContainEqual(['$${', 'string']);
    // the heredoc ends at its delimiter: the closing brace is code again
    expect(t[t.length - 1]).toEqual(['}', 'bracket']);
  });

  it('block comments span lines; an unclosed expression runs to the end of its line only', () => {
    expect(tokens('/* a\nb */ x = 1')).toEqual([
      ['/*', 'blockComment'],
      ['a', 'blockComment'],
      ['b */', 'blockComment'],
      ['x', 'propertyName'],
      ['=', 'operator'],
      ['1', 'number'],
    ]);
    expect(tokens('a = "${{ .space.id"\nb = 2').slice(-3)).toEqual([
      ['b', 'propertyName'],
      ['=', 'operator'],
      ['2', 'number'],
    ]);
  });
});

describe('the range a problem marks', () => {
  const doc = Text.of(['job "x" {', '  name = "${{ .nope }}" = 3', '  count = abc', '}']);
  const mark = (line: number, column: number) => {
    const r = diagnosticRange(doc, line, column);
    return doc.sliceString(r.from, r.to);
  };
  it('a whole expression, a string, a word, or one character', () => {
    expect(mark(2, 11)).toBe('${{ .nope }}');
    expect(mark(2, 10)).toBe('"${{ .nope }}"');
    expect(mark(3, 11)).toBe('abc');
    expect(mark(2, 25)).toBe('=');
  });
  it('lines and columns past the text are clamped: a point at the end', () => {
    const end = diagnosticRange(doc, 9, 99);
    expect(end).toEqual({ from: doc.length, to: doc.length });
    expect(diagnosticRange(doc, 1, 99)).toEqual({ from: 9, to: 9 });
  });
});
