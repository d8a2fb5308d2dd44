/**
 * Create Space (seed 000): name, template (the ones the caller's groups may use: the server
 * lists only those), Terminal Shell (Bash by default), the template's typed parameters checked
 * with the server's own rules (core/parameters), the agent URL for manual templates. Server
 * errors land at the field they name.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { validateParameterValues, type ParameterDef } from '../../../core/parameters';
import { api, type Template } from '../api';
import { ErrorBanner, FieldMessage, fieldErrors } from '../components';
import { EmptyState } from '../empty-state';
import { navigate } from '../router';
import { useMe } from '../session';
import { TemplateUnitsUsage } from '../quota';

const SHELLS: [string, string][] = [
  ['bash', 'Bash'],
  ['zsh', 'Zsh'],
  ['fish', 'Fish'],
  ['sh', 'Sh'],
];

type Values = Record<string, string | boolean>;

function initialValues(defs: readonly ParameterDef[]): Values {
  const out: Values = {};
  for (const d of defs) out[d.variable] = d.type === 'boolean' ? d.defaultValue === true || d.defaultValue === 'true' : d.defaultValue !== undefined ? String(d.defaultValue) : '';
  return out;
}

/** Form values → what the API takes: empty optional fields left out. */
function toParameters(defs: readonly ParameterDef[], values: Values): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const d of defs) {
    const v = values[d.variable];
    if (v === undefined || v === '') continue;
    out[d.variable] = v;
  }
  return out;
}

function ParameterInput(props: { def: ParameterDef; value: string | boolean; error?: string | undefined; onChange: (v: string | boolean) => void }) {
  const { def } = props;
  const id = `param-${def.variable}`;
  const label = `${def.label ?? def.variable}${def.required ? ' (required)' : ''}`;
  const described = [def.description ? `${id}-help` : '', props.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, 'aria-describedby': described, 'aria-invalid': props.error ? true : undefined };
  const text = (e: Event) => props.onChange((e.target as HTMLInputElement).value);
  let input;
  switch (def.type) {
    case 'boolean':
      return (
        <div class="field">
          <label class="inline">
            <input type="checkbox" {...common} checked={props.value === true} onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)} /> {label}
          </label>
          {def.description ? <p class="help" id={`${id}-help`}>{def.description}</p> : null}
          <FieldMessage id={id} message={props.error} />
        </div>
      );
    case 'multiline':
      input = <textarea {...common} rows={4} value={String(props.value)} placeholder={def.placeholder} onInput={text} />;
      break;
    case 'number':
      input = <input type="number" {...common} min={def.min} max={def.max} step="any" value={String(props.value)} placeholder={def.placeholder} onInput={text} />;
      break;
    case 'enum':
      input = (
        <select {...common} value={String(props.value)} onChange={text}>
          {!def.required || props.value === '' ? <option value="">—</option> : null}
          {(def.options ?? []).map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    case 'password':
      input = <input type="password" autoComplete="new-password" {...common} value={String(props.value)} onInput={text} />;
      break;
    default:
      input = <input type="text" {...common} value={String(props.value)} placeholder={def.placeholder} onInput={text} />;
  }
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {input}
      {def.description ? <p class="help" id={`${id}-help`}>{def.description}</p> : null}
      <FieldMessage id={id} message={props.error} />
    </div>
  );
}

export function CreateSpacePage() {
  const me = useMe();
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [templateName, setTemplateName] = useState('');
  const [shell, setShell] = useState('bash');
  const [agentUrl, setAgentUrl] = useState('');
  const [values, setValues] = useState<Values>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api()
      .listTemplates()
      .then((l) => {
        setTemplates(l.items);
        const first = l.items[0];
        if (first) {
          setTemplateName(first.name);
          setValues(initialValues(first.parameters));
        }
      })
      .catch(setLoadError);
  }, []);

  const template = useMemo(() => templates?.find((t) => t.name === templateName) ?? null, [templates, templateName]);
  const defs = template?.parameters ?? [];
  const manual = template?.type === 'manual';

  function check(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) out.name = 'must be 1-63 lowercase letters, digits or -, starting and ending with a letter or digit';
    if (!template) out.template = 'choose a template';
    if (manual && !/^(srv\+)?https?:\/\/[^\s/]+(\/\S*)?$/.test(agentUrl.trim())) out.agentUrl = 'must be an http(s):// URL or srv+http(s):// name';
    try {
      validateParameterValues(defs, toParameters(defs, values));
    } catch (e) {
      for (const f of (e as { errors?: { path: string; message: string }[] }).errors ?? []) out[f.path] ??= f.message;
    }
    return out;
  }

  async function submit(e: Event) {
    e.preventDefault();
    setSubmitError(null);
    const found = check();
    setErrors(found);
    if (Object.keys(found).length) {
      const first = Object.keys(found)[0]!;
      document.getElementById(first.startsWith('parameters.') ? `param-${first.slice(11)}` : first === 'template' ? 'template' : first)?.focus();
      return;
    }
    setBusy(true);
    try {
      await api().createSpace({ name, template: templateName, shell: shell as 'bash', parameters: toParameters(defs, values), ...(manual ? { agentUrl: agentUrl.trim() } : {}) });
      navigate('/');
    } catch (err) {
      setErrors(fieldErrors(err));
      setSubmitError(err);
    } finally {
      setBusy(false);
    }
  }

  const describe = (id: string) => (errors[id] ? `${id}-error` : undefined);
  return (
    <main id="main">
      <h1>Create Space</h1>
      <ErrorBanner error={loadError} />
      {templates && templates.length === 0 ? (
        me.isAdmin ? (
          <EmptyState action={<a class="button primary" href="/templates">Go to Templates</a>}>
            No templates yet. A space is made from a template: add a starter template (or write one) on the Templates page.
          </EmptyState>
        ) : (
          <EmptyState>No template is available to your groups yet. A space is made from a template: ask an admin to add one or to put you in a group that may use one.</EmptyState>
        )
      ) : null}
      <form onSubmit={submit} noValidate class="form">
        <div class="field">
          <label for="name">Name</label>
          <input id="name" value={name} required aria-invalid={errors.name ? true : undefined} aria-describedby={describe('name')} onInput={(e) => {
              setName((e.target as HTMLInputElement).value);
              setErrors(({ name: _gone, ...rest }) => rest);
            }} />
          <FieldMessage id="name" message={errors.name} />
        </div>
        <div class="field">
          <label for="template">Template</label>
          <select
            id="template"
            value={templateName}
            aria-describedby={describe('template')}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              setTemplateName(v);
              setValues(initialValues(templates?.find((t) => t.name === v)?.parameters ?? []));
            }}
          >
            {(templates ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                {t.displayName || t.name}
              </option>
            ))}
          </select>
          {template?.description ? <p class="help">{template.description}</p> : null}
          <TemplateUnitsUsage template={template} />
          <FieldMessage id="template" message={errors.template} />
        </div>
        <div class="field">
          <label for="shell">Terminal Shell</label>
          <select id="shell" value={shell} onChange={(e) => setShell((e.target as HTMLSelectElement).value)}>
            {SHELLS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
          <FieldMessage id="shell" message={errors.shell} />
        </div>
        {manual ? (
          <div class="field">
            <label for="agentUrl">Agent URL</label>
            <input id="agentUrl" value={agentUrl} placeholder="http://192.168.0.1:3000 or srv+http://vm.service.consul" aria-describedby={describe('agentUrl')} onInput={(e) => setAgentUrl((e.target as HTMLInputElement).value)} />
            <FieldMessage id="agentUrl" message={errors.agentUrl} />
          </div>
        ) : null}
        {defs.length ? (
          <fieldset>
            <legend>Parameters</legend>
            {defs.map((d) => (
              <ParameterInput key={d.variable} def={d} value={values[d.variable] ?? ''} error={errors[`parameters.${d.variable}`]} onChange={(v) => setValues((s) => ({ ...s, [d.variable]: v }))} />
            ))}
          </fieldset>
        ) : null}
        {submitError && !Object.keys(fieldErrors(submitError)).length ? <ErrorBanner error={submitError} /> : null}
        <div class="form-buttons">
          <button type="submit" class="primary" disabled={busy || !template}>
            Create Space
          </button>
          <a href="/">Cancel</a>
        </div>
      </form>
    </main>
  );
}
