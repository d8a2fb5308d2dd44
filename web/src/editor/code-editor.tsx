/**
 * A code field of the template pages: CodeMirror (./codemirror.ts), fetched with a dynamic import
 * the first time a template page shows one, so the first load stays small. Until it arrives, and
 * if it cannot be fetched, a plain textarea does the job.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { EditorHandle, EditorLanguage, EditorProblem } from './codemirror';

export type { EditorHandle, EditorProblem } from './codemirror';

let loading: Promise<typeof import('./codemirror')> | null = null;

/** Starts fetching the editor (a page calls it as it opens, before it has the text). */
export function loadEditor(): Promise<typeof import('./codemirror')> {
  loading ??= import('./codemirror');
  return loading;
}

export function CodeEditor(props: {
  id: string;
  label: string;
  language: EditorLanguage;
  value: string;
  onInput: (text: string) => void;
  problems: readonly EditorProblem[];
  /** set once the editor is up: the page's "Go to line" uses it */
  handleRef?: { current: EditorHandle | null };
}) {
  const host = useRef<HTMLDivElement>(null);
  const handle = useRef<EditorHandle | null>(null);
  const onInput = useRef(props.onInput);
  onInput.current = props.onInput;
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading');
  const labelId = `${props.id}-label`;

  useEffect(() => {
    let gone = false;
    loadEditor().then(
      (m) => {
        if (gone || !host.current) return;
        handle.current = m.mountEditor(host.current, { value: props.value, language: props.language, labelledBy: labelId, onChange: (text) => onInput.current(text) });
        if (props.handleRef) props.handleRef.current = handle.current;
        setState('ready');
      },
      () => !gone && setState('failed'),
    );
    return () => {
      gone = true;
      handle.current?.destroy();
      handle.current = null;
      if (props.handleRef) props.handleRef.current = null;
    };
  }, []);
  useEffect(() => handle.current?.setValue(props.value), [props.value, state]);
  useEffect(() => handle.current?.setProblems(props.problems), [props.problems, state]);

  return (
    <div class="code-field">
      <label id={labelId} for={state === 'ready' ? undefined : props.id} onClick={() => handle.current?.focus()}>
        {props.label}
      </label>
      <div ref={host} class="code-host" data-editor={state} />
      {state !== 'ready' ? (
        <textarea
          id={props.id}
          class="code-fallback"
          spellcheck={false}
          wrap="off"
          rows={14}
          value={props.value}
          aria-busy={state === 'loading'}
          onInput={(e) => props.onInput((e.target as HTMLTextAreaElement).value)}
        />
      ) : null}
    </div>
  );
}
