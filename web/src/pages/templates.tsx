/** Templates (admins): list, create/edit with validation before saving, versions with a diff. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Template, type TemplateVersionList } from '../api';
import { CodeEditor, ErrorBanner, FieldMessage, errorText, fieldErrors } from '../components';
import { diffLines } from '../diff';
import { when } from '../format';
import { navigate } from '../router';

export function TemplatesPage() {
  const [list, setList] = useState<Template[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api().listTemplates().then((l) => setList(l.items), setError);
  }, []);
  return (
    <main id="main">
      <div class="page-head">
        <h1>Templates</h1>
        <a class="button primary" href="/templates/new">
          New Template
        </a>
      </div>
      <ErrorBanner error={error} />
      {list ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Version</th>
              <th scope="col">Groups</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id}>
                <th scope="row">
                  <a href={`/templates/${encodeURIComponent(t.name)}`}>{t.displayName || t.name}</a>
                </th>
                <td>{t.type}</td>
                <td>{t.version}</td>
                <td>{t.groups.length ? t.groups.join(', ') : 'everyone'}</td>
                <td>{when(t.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>Loading…</p>
      )}
    </main>
  );
}

interface Draft {
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  job: string;
  volumes: string;
  groups: string;
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
  return {
    name: d.name,
    displayName: d.displayName,
    description: d.description,
    type: d.type,
    ...(d.type === 'nomad' ? { job: d.job } : {}),
    volumes: d.volumes,
    groups: d.groups.split(',').map((g) => g.trim()).filter(Boolean),
    parameters,
    ...(d.maxUptime ? { maxUptime: d.maxUptime } : {}),
    ...(d.startTimeout ? { startTimeout: d.startTimeout } : {}),
  };
}

/** `line 3, column 5` or `3:5` in a message → a position. */
function positionOf(message: string): { line: number; column: number } | null {
  const m = /line (\d+)(?:,? col(?:umn)? (\d+))?/i.exec(message) ?? /\b(\d+):(\d+)\b/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2] ?? 1) } : null;
}

function focusAt(el: HTMLTextAreaElement | null, pos: { line: number; column: number }) {
  if (!el) return;
  const lines = el.value.split('\n');
  let offset = 0;
  for (let i = 0; i < pos.line - 1 && i < lines.length; i++) offset += (lines[i]?.length ?? 0) + 1;
  offset += pos.column - 1;
  el.focus();
  el.setSelectionRange(offset, offset);
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
  const [result, setResult] = useState<{ valid: boolean; errors: { path: string; message: string }[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  const jobRef = useRef<HTMLTextAreaElement | null>(null);
  const volRef = useRef<HTMLTextAreaElement | null>(null);
  useEffect(() => {
    if (props.name) api().getTemplate(props.name).then((t) => setDraft(draftOf(t)), setError);
  }, [props.name]);
  const set = (k: keyof Draft) => (v: string) => setDraft((d) => ({ ...d, [k]: v }));

  async function validate(): Promise<boolean> {
    setSaved('');
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
    setError(null);
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
      setResult({ valid: false, errors: Object.entries(fieldErrors(err)).map(([path, message]) => ({ path, message })) });
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
        {draft.type === 'nomad' ? <CodeEditor id="t-job" label="Nomad job (HCL)" value={draft.job} onInput={set('job')} textareaRef={jobRef} /> : null}
        <CodeEditor id="t-volumes" label="Volumes (YAML)" value={draft.volumes} onInput={set('volumes')} textareaRef={volRef} />
        <CodeEditor id="t-parameters" label="Parameters (JSON list)" value={draft.parameters} onInput={set('parameters')} />
        <div aria-live="polite" class="validation">
          {result ? (
            result.valid ? (
              <p class="ok">The template is valid.</p>
            ) : (
              <>
                <p class="error-banner">The template has {result.errors.length} problem(s):</p>
                <ul class="problems">
                  {result.errors.map((er, i) => {
                    const pos = positionOf(er.message);
                    const target = er.path.startsWith('job') ? jobRef : er.path.startsWith('volumes') ? volRef : null;
                    return (
                      <li key={i}>
                        <code>{er.path}</code>
                        {pos ? ` (line ${pos.line}, column ${pos.column})` : ''}: {er.message}{' '}
                        {pos && target ? (
                          <button type="button" class="link" onClick={() => focusAt(target.current, pos)}>
                            Go to line {pos.line}
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
        {error && !result ? <ErrorBanner error={error} /> : null}
        {saved ? <p class="ok" role="status">{saved}</p> : null}
        <div class="form-buttons">
          <button type="button" onClick={() => void validate()}>
            Validate
          </button>
          <button type="submit" class="primary">
            Save
          </button>
        </div>
        <FieldMessage id="t-save" message={error && result ? errorText(error) : undefined} />
      </form>
      {props.name ? <Versions name={props.name} /> : null}
    </main>
  );
}
