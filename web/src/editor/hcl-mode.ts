/**
 * Highlighting for a template's Nomad job: HCL with knot's `${{ … }}` expressions. A small stream
 * tokenizer rather than the maintained `codemirror-lang-hcl` (a Lezer grammar): that one reads
 * `${{ .space.id }}` as a broken HCL interpolation and marks every template as an error, while here
 * a knot expression is its own token wherever it sits (code, strings, heredocs, comments). Token
 * names are @lezer/highlight tag names, as StreamLanguage expects.
 */
import type { StreamParser, StringStream } from '@codemirror/language';

type Context =
  | { kind: 'string' }
  | { kind: 'heredoc'; delimiter: string }
  | { kind: 'interp'; depth: number }
  | { kind: 'blockComment' };

export interface HclState {
  stack: Context[];
}

/** A knot expression, `${{ … }}`, on one line (an unclosed one runs to the end of the line). */
function knotExpression(stream: StringStream): string {
  stream.match('${{');
  if (!stream.skipTo('}}')) stream.skipToEnd();
  else stream.match('}}');
  return 'macroName';
}

function code(stream: StringStream, state: HclState, top: Context | undefined): string | null {
  if (stream.eatSpace()) return null;
  if (stream.match('${{', false)) return knotExpression(stream);
  if (stream.match('#') || stream.match('//')) {
    stream.skipToEnd();
    return 'lineComment';
  }
  if (stream.match('/*')) {
    state.stack.push({ kind: 'blockComment' });
    return 'blockComment';
  }
  if (stream.eat('"')) {
    state.stack.push({ kind: 'string' });
    return 'string';
  }
  const heredoc = stream.match(/^<<-?([A-Za-z_][\w-]*)\s*$/) as RegExpMatchArray | null;
  if (heredoc) {
    state.stack.push({ kind: 'heredoc', delimiter: heredoc[1] ?? '' });
    return 'string';
  }
  if (stream.match(/^-?\d+(\.\d+)?([eE][+-]?\d+)?/)) return 'number';
  if (stream.match(/^(true|false)\b/)) return 'bool';
  if (stream.match(/^null\b/)) return 'null';
  if (top?.kind === 'interp') {
    if (stream.eat('{')) top.depth++;
    else if (stream.eat('}')) {
      if (top.depth === 0) {
        state.stack.pop();
        return 'meta';
      }
      top.depth--;
    }
    if (stream.current()) return 'brace';
  }
  const word = stream.match(/^[A-Za-z_][\w-]*/) as RegExpMatchArray | null;
  if (word) {
    if (top?.kind === 'interp') return 'variableName';
    // `name =` is an attribute; a word that opens a block (`task "x" {`, `config {`) is a block type
    if (stream.match(/^\s*=(?!=)/, false)) return 'propertyName';
    if (stream.match(/^(\s+("[^"]*"|[A-Za-z_][\w-]*))*\s*\{/, false)) return 'keyword';
    return 'variableName';
  }
  if (stream.match(/^[=!<>]=?|^[+*/%-]|^&&|^\|\||^[?:]/)) return 'operator';
  if (stream.match(/^[{}[\]()]/)) return 'bracket';
  stream.next();
  return null;
}

/** Inside a quoted string or heredoc line: escapes, `${{ }}`, `${ }` interpolations, the end. */
function template(stream: StringStream, state: HclState, quoted: boolean): string | null {
  if (stream.match('${{', false)) return knotExpression(stream);
  if (stream.match('$${') || stream.match('%%{')) return 'string';
  if (stream.match('${') || stream.match('%{')) {
    state.stack.push({ kind: 'interp', depth: 0 });
    return 'meta';
  }
  if (quoted) {
    if (stream.match(/^\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/)) return 'escape';
    if (stream.eat('"')) {
      state.stack.pop();
      return 'string';
    }
  }
  // up to the next character that may start something else
  if (!stream.match(quoted ? /^[^"\\$%]+/ : /^[^$%]+/)) stream.next();
  return 'string';
}

export const hclParser: StreamParser<HclState> = {
  name: 'hcl',
  startState: () => ({ stack: [] }),
  copyState: (s) => ({ stack: s.stack.map((c) => ({ ...c })) }),
  token(stream, state) {
    // a quoted string never spans lines (HCL refuses it): an unclosed one ends with its line
    if (stream.sol()) {
      const open = state.stack.map((c) => c.kind).lastIndexOf('string');
      if (open >= 0) state.stack.length = open;
    }
    const top = state.stack[state.stack.length - 1];
    if (top?.kind === 'blockComment') {
      if (stream.skipTo('*/')) {
        stream.match('*/');
        state.stack.pop();
      } else stream.skipToEnd();
      return 'blockComment';
    }
    if (top?.kind === 'heredoc') {
      if (stream.sol() && stream.match(new RegExp(`^\\s*${top.delimiter}\\s*$`))) {
        state.stack.pop();
        return 'string';
      }
      return template(stream, state, false);
    }
    if (top?.kind === 'string') return template(stream, state, true);
    return code(stream, state, top);
  },
  languageData: { commentTokens: { line: '#', block: { open: '/*', close: '*/' } } },
};
