/**
 * The template editors (CodeMirror 6): line numbers, highlighting (HCL with knot expressions, or
 * YAML), undo history, and the server's validation problems marked at their line and column.
 * Loaded on demand by ./code-editor.tsx, so none of this is in the first load.
 */
import { EditorState, type Extension } from '@codemirror/state';
import { Decoration, EditorView, MatchDecorator, ViewPlugin, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, type DecorationSet, type ViewUpdate } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { HighlightStyle, StreamLanguage, bracketMatching, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { tags as t } from '@lezer/highlight';
import { hclParser } from './hcl-mode';
import { diagnosticRange } from './positions';

export type EditorLanguage = 'hcl' | 'yaml';

export interface EditorProblem {
  line: number;
  column: number;
  message: string;
}

export interface EditorHandle {
  /** replaces the text when it differs (a template loaded); the caller's own edits come back equal */
  setValue(text: string): void;
  setProblems(problems: readonly EditorProblem[]): void;
  /** puts the cursor at a line and column and shows it */
  focusAt(line: number, column: number): void;
  focus(): void;
  destroy(): void;
}

const highlight = HighlightStyle.define([
  { tag: t.keyword, color: '#8250df', fontWeight: '600' },
  { tag: [t.propertyName, t.definition(t.propertyName)], color: '#0550ae' },
  { tag: [t.string, t.content], color: '#0a3069' },
  { tag: t.escape, color: '#116329' },
  { tag: [t.number, t.bool, t.null, t.atom], color: '#953800' },
  { tag: [t.lineComment, t.blockComment, t.comment], color: '#57606a', fontStyle: 'italic' },
  { tag: t.meta, color: '#116329' },
  { tag: t.macroName, color: '#953800', fontWeight: '600' },
  { tag: t.invalid, color: '#b3261e' },
]);

/** `${{ … }}` marked in either language (YAML keeps them inside ordinary strings). */
const knotExpressions = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    private readonly matcher = new MatchDecorator({ regexp: /\$\{\{.*?\}\}/g, decoration: Decoration.mark({ class: 'cm-knot-expression' }) });
    constructor(view: EditorView) {
      this.decorations = this.matcher.createDeco(view);
    }
    update(u: ViewUpdate) {
      this.decorations = this.matcher.updateDeco(u, this.decorations);
    }
  },
  { decorations: (p) => p.decorations },
);

const theme = EditorView.theme({
  '&': { border: '1px solid #8c959f', borderRadius: '6px', fontSize: '13px', backgroundColor: '#fff' },
  '&.cm-focused': { outline: '3px solid #0a58ca', outlineOffset: '2px' },
  // the height limits as CodeMirror documents them: a minimum on the content, a maximum on the scroller
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', lineHeight: '1.5', maxHeight: '520px', overflow: 'auto' },
  '.cm-content, .cm-gutter': { minHeight: '240px' },
  '.cm-gutters': { backgroundColor: '#f6f8fa', color: '#57606a', borderRight: '1px solid #d0d7de' },
  '.cm-knot-expression': { backgroundColor: '#fff4e5', borderRadius: '3px' },
});

export function mountEditor(
  parent: HTMLElement,
  opts: { value: string; language: EditorLanguage; labelledBy: string; onChange: (text: string) => void },
): EditorHandle {
  const language: Extension = opts.language === 'hcl' ? StreamLanguage.define(hclParser) : yaml();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.value,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        lintGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        language,
        syntaxHighlighting(highlight),
        knotExpressions,
        // Tab stays the browser's (leaves the editor): no keyboard trap
        keymap.of([...defaultKeymap, ...historyKeymap]),
        // tabindex: it is in the tab order anyway (contenteditable); said outright, checkers see that
        // the scrolling editor is reachable by keyboard
        EditorView.contentAttributes.of({ 'aria-labelledby': opts.labelledBy, spellcheck: 'false', tabindex: '0' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) opts.onChange(u.state.doc.toString());
        }),
        theme,
      ],
    }),
  });
  return {
    setValue(text) {
      if (view.state.doc.toString() !== text) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    setProblems(problems) {
      const diagnostics: Diagnostic[] = problems.map((p) => ({ ...diagnosticRange(view.state.doc, p.line, p.column), severity: 'error', message: p.message }));
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    focusAt(line, column) {
      const { from } = diagnosticRange(view.state.doc, line, column);
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
      view.focus();
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
