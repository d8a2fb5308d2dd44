/**
 * The server names a problem by line and column (1-based, FieldError.line/column); the editor
 * marks a range. The range covers what starts there: a whole `${{ … }}` expression, a quoted
 * string, a word, or one character; at the end of a line it is empty (a point).
 */
import type { Text } from '@codemirror/state';

export function diagnosticRange(doc: Text, line: number, column: number): { from: number; to: number } {
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  const from = Math.min(l.from + Math.max(0, column - 1), l.to);
  const rest = l.text.slice(from - l.from);
  const m = /^\$\{\{.*?\}\}/.exec(rest) ?? /^"(?:[^"\\]|\\.)*"?/.exec(rest) ?? /^[\w.-]+/.exec(rest) ?? /^./u.exec(rest);
  return { from, to: from + (m?.[0].length ?? 0) };
}
