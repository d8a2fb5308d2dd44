/**
 * A template's page (admins): create or edit it with the job HCL and volume YAML in code editors
 * (fetched on demand) showing the server's validation problems at their line and column, the
 * parameters as a form, and its versions with a diff between two.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, isKnotApiError, type FieldError, type Template, type TemplateVersionList } from '../api';
import { ErrorBanner } from '../components';
import { diffLines } from '../diff';
import { CodeEditor, loadEditor, type EditorHandle, type EditorProblem } from '../editor/code-editor';
import { when } from '../format';
import { ParametersEditor } from '../parameter-form';
import { navigate } from '../router';

interface Draft {
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  job: string;
  volumes: string;
  groups: string;
  /** the JSON list the parameter form edits */
  parameters: string;
  maxUptime: string;
  startTimeout: string;
}

function draftOf(t: Template | null): Draft {
  return {
    name: t?.name ?? '',
    displayName: t?.displayName ?? '',
    description: t?.description ?? '',
    type: t?.type ?? 'nomad',
    job: t?.job ?? '',
    volumes: t?.volumes ?? '',
    groups: (t?.groups ?? []).join(', '),
    parameters: JSON.stringify(t?.parameters ?? [], null, 2),
    maxUptime: t?.maxUptime ?? '',
    startTimeout: t?.startTimeout ?? '',
  };
}

function bodyOf(d: Draft): Record<string, unknown> {
  let parameters: unknown;
  try {
    parameters = JSON.parse(d.parameters || '[]');
  } catch {
    parameters = d.parameters;
  }
  const groups = d.groups.split(',').map((g) => g.trim()).filter(Boolean);
  // empty fields are left out, as the template had them: saving what was loaded makes no version
  return {
    name: d.name,
    ...(d.displayName ? { displayName: d.displayName } : {}),
    ...(d.description ? { description: d.description } : {}),
    type: d.type,
    ...(d.type === 'nomad' ? { job: d.job } : {}),
    ...(d.volumes ? { volumes: d.volumes } : {}),
    ...(groups.length ? { groups } : {}),
    ...(Array.isArray(parameters) && parameters.length === 0 ? {} : { parameters }),
    ...(d.maxUptime ? { maxUptime: d.maxUptime } : {}),
    ...(d.startTimeout ? { startTimeout: d.startTimeout } : {}),
  };
}

/** The problems of one text field that name a place in it, for its editor. */
function problemsIn(errors: readonly FieldError[], field: 'job' | 'volumes'): EditorProblem[] {
  return errors.filter((e) => e.path.startsWith(field) && e.line !== undefined).map((e) => ({ line: e.line!, column: e.column ?? 1, message: e.message }));
}

function Versions(props: { name: string }) {
  const [versions, setVersions] = useState<TemplateVersionList['items']>([]);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  useEffect(() => {
    api()
      .templateVersions(props.name)
      .then((l) => {
        setVersions(l.items);
        setA(l.items[1]?.version ?? l.items[0]?.version ?? '');
        setB(l.items[0]?.version ?? '');
      }, () => undefined);
  }, [props.name]);
  const va = versions.find((v) => v.version === a);
  const vb = versions.find((v) => v.version === b);
  const text = (v: typeof va) => (v ? `${String(v.content.job ?? '')}\n--- volumes ---\n${String(v.content.volumes ?? '')}` : '');
  const diff = va && vb ? diffLines(text(va), text(vb)) : [];
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      <ul>
        {versions.map((v) => (
          <li key={v.version}>
            {v.version} <span class="muted">{when(v.createdAt)}</span>
          </li>
        ))}
      </ul>
      {versions.length > 1 ? (
        <>
          <div class="filters">
            <label>
              From
              <select value={a} onChange={(e) => setA((e.target as HTMLSelectElement).value)}>
                {versions.map((v) => (
                  <option key={v.version}>{v.version}</option>
                ))}
              </select>
            </label>
            <label>
              To
              <select value={b} onChange={(e) => setB((e.target as HTMLSelectElement).value)}>
                {versions.map((v) => (
                  <option key={v.version}>{v.version}</option>
                ))}
              </select>
            </label>
          </div>
          <pre class="diff" aria-label={`Changes from ${a} to ${b}`} tabIndex={0}>
            {diff.map((l, i) => (
              <div key={i} class={`diff-${l.kind}`}>
                {l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '- ' : '  '}
                {l.text}
              </div>
            ))}
          </pre>
        </>
      ) : null}
    </section>
  );
}

export function TemplateEditPage(props: { name: string | null }) {
  const [draft, setDraft] = useState<Draft>(draftOf(null));
  const [result, setResult] = useState<{ valid: boolean; errors: FieldError[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  const jobEditor = useRef<EditorHandle | null>(null);
  const volumesEditor = useRef<EditorHandle | null>(null);
  useEffect(() => {
    void loadEditor().catch(() => undefined); // fetch the editor while the template loads
    if (props.name) api().getTemplate(props.name).then((t) => setDraft(draftOf(t)), setError);
  }, [props.name]);
  const set = (k: keyof Draft) => (v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const errors = result?.errors ?? [];
  const jobProblems = useMemo(() => problemsIn(errors, 'job'), [result]);
  const volumeProblems = useMemo(() => problemsIn(errors, 'volumes'), [result]);

  async function validate(): Promise<boolean> {
    setSaved('');
    setError(null);
    try {
      const r = await api().validateTemplate(bodyOf(draft));
      setResult(r);
      return r.valid;
    } catch (e) {
      setError(e);
      return false;
    }
  }
  async function save(e: Event) {
    e.preventDefault();
    if (!(await validate())) return;
    try {
      if (props.name) {
        const r = await api().replaceTemplate(props.name, bodyOf(draft) as never);
        setSaved(r.versionCreated ? `Saved as version ${r.versionCreated}` : 'No change: no new version');
      } else {
        await api().createTemplate(bodyOf(draft) as never);
        navigate(`/templates/${encodeURIComponent(draft.name)}`);
      }
    } catch (err) {
      setError(err);
      if (isKnotApiError(err) && err.errors.length) setResult({ valid: false, errors: err.errors });
    }
  }
  const text = (k: keyof Draft, label: string) => (
    <div class="field">
      <label for={`t-${k}`}>{label}</label>
      <input id={`t-${k}`} value={draft[k]} disabled={k === 'name' && props.name !== null} onInput={(e) => set(k)((e.target as HTMLInputElement).value)} />
    </div>
  );
  return (
    <main id="main">
      <p>
        <a href="/templates">← Templates</a>
      </p>
      <h1>{props.name ? `Template ${props.name}` : 'New Template'}</h1>
      <form class="form wide" onSubmit={save}>
        {text('name', 'Name')}
        {text('displayName', 'Display name')}
        {text('description', 'Description')}
        <div class="field">
          <label for="t-type">Type</label>
          <select id="t-type" value={draft.type} onChange={(e) => set('type')((e.target as HTMLSelectElement).value)}>
            <option value="nomad">Nomad job</option>
            <option value="manual">Manual (agent runs elsewhere)</option>
          </select>
        </div>
        {text('groups', 'Groups (comma-separated; empty = everyone)')}
        {text('maxUptime', 'Max uptime (e.g. 8h; empty = none)')}
        {text('startTimeout', 'Start timeout (e.g. 10m)')}
        {draft.type === 'nomad' ? <CodeEditor id="t-job" label="Nomad job (HCL)" language="hcl" value={draft.job} onInput={set('job')} problems={jobProblems} handleRef={jobEditor} /> : null}
        <CodeEditor id="t-volumes" label="Volumes (YAML)" language="yaml" value={draft.volumes} onInput={set('volumes')} problems={volumeProblems} handleRef={volumesEditor} />
        <ParametersEditor value={draft.parameters} onChange={set('parameters')} />
        <div aria-live="polite" class="validation">
          {result ? (
            result.valid ? (
              <p class="ok">The template is valid.</p>
            ) : (
              <>
                <p class="error-banner">The template has {result.errors.length} problem(s):</p>
                <ul class="problems">
                  {result.errors.map((er, i) => {
                    const editor = er.path.startsWith('job') ? jobEditor : er.path.startsWith('volumes') ? volumesEditor : null;
                    const { line, column = 1 } = er;
                    return (
                      <li key={i}>
                        <code>{er.path}</code>
                        {line !== undefined ? ` (line ${line}, column ${column})` : ''}: {er.message}{' '}
                        {line !== undefined && editor ? (
                          <button type="button" class="link" onClick={() => editor.current?.focusAt(line, column)}>
                            Go to line {line}
                          </button>
                        ) : null}
                      </li>
                    );
                  })}
                </ul>
              </>
            )
          ) : null}
        </div>
        {error && !(isKnotApiError(error) && error.errors.length) ? <ErrorBanner error={error} /> : null}
        {saved ? <p class="ok" role="status">{saved}</p> : null}
        <div class="form-buttons">
          <button type="button" onClick={() => void validate()}>
            Validate
          </button>
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
      {props.name ? <Versions name={props.name} /> : null}
    </main>
  );
}
