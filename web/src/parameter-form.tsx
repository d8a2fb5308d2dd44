/**
 * A template's typed parameters as a form — add, remove, reorder, every field the parameter schema
 * has (core/parameters.ts) — with the raw JSON list as an advanced toggle. Both are checked as you
 * type with the server's own rules (checkParameterDefinitions, imported from core, not copied); the
 * server checks again on Validate and Save. The value is the JSON text the page sends.
 */
import { useEffect, useState } from 'preact/hooks';
import { PARAMETER_TYPES, checkParameterDefinitions, type ParameterType } from '../../core/parameters';
import { FieldMessage } from './components';

/** One definition as edited: anything the JSON holds, so a half-typed one is still shown. */
type Row = Record<string, unknown>;

const TEXT_TYPES: readonly string[] = ['string', 'multiline', 'password'];

/** The rows of a JSON list of objects, or null when the text is not one. */
export function parseRows(text: string): Row[] | null {
  try {
    const v: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
    return Array.isArray(v) && v.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r)) ? (v as Row[]) : null;
  } catch {
    return null;
  }
}

export function rowsText(rows: readonly Row[]): string {
  return JSON.stringify(rows, null, 2);
}

/** `patch` applied; a field set to undefined or '' is left out (the schema has no empty values). */
function withFields(row: Row, patch: Row): Row {
  const out: Row = { ...row };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

/** A new type keeps only the fields it allows, and a default of its kind. */
function retype(row: Row, type: ParameterType): Row {
  const out: Row = { ...row, type };
  if (type !== 'enum') delete out.options;
  if (type !== 'number') {
    delete out.min;
    delete out.max;
  }
  if (!TEXT_TYPES.includes(type)) {
    delete out.validation;
    delete out.invalidation;
  }
  const d = out.defaultValue;
  const fits = type === 'number' ? typeof d === 'number' : type === 'boolean' ? typeof d === 'boolean' : typeof d === 'string';
  if (!fits) delete out.defaultValue;
  return out;
}

const numberFrom = (s: string): unknown => (s.trim() === '' ? undefined : Number.isFinite(Number(s)) ? Number(s) : s);
const linesFrom = (s: string): unknown => {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines : undefined;
};

/**
 * An input that keeps what is being typed ("-", "1.", a trailing new line) while the row holds the
 * parsed value; it takes the row's value again when that changes from elsewhere.
 */
function DraftInput(props: { id: string; value: unknown; toText: (v: unknown) => string; fromText: (s: string) => unknown; onChange: (v: unknown) => void; multiline?: boolean; type?: string; describedBy?: string | undefined }) {
  const [text, setText] = useState(props.toText(props.value));
  const held = JSON.stringify(props.value ?? null);
  useEffect(() => {
    if (JSON.stringify(props.fromText(text) ?? null) !== held) setText(props.toText(props.value));
  }, [held]);
  const onInput = (e: Event) => {
    const v = (e.target as HTMLInputElement).value;
    setText(v);
    props.onChange(props.fromText(v));
  };
  return props.multiline ? (
    <textarea id={props.id} rows={3} value={text} aria-describedby={props.describedBy} onInput={onInput} />
  ) : (
    <input id={props.id} type={(props.type ?? 'text') as 'text'} autoComplete="off" value={text} aria-describedby={props.describedBy} onInput={onInput} />
  );
}

function ParameterRow(props: { row: Row; index: number; count: number; errors: Record<string, string>; onChange: (r: Row) => void; onMove: (by: number) => void; onRemove: () => void }) {
  const { row, index } = props;
  const type = (PARAMETER_TYPES as readonly string[]).includes(String(row.type)) ? (row.type as ParameterType) : 'string';
  const at = (field: string) => `parameters[${index}].${field}`;
  const id = (field: string) => `p${index}-${field}`;
  const set = (field: string) => (v: unknown) => props.onChange(withFields(row, { [field]: v }));
  const described = (field: string) => (props.errors[at(field)] ? `${id(field)}-error` : undefined);
  const text = (field: string, label: string, opts: { multiline?: boolean; type?: string } = {}) => (
    <div class="field">
      <label for={id(field)}>{label}</label>
      <DraftInput id={id(field)} value={row[field]} toText={(v) => (v === undefined ? '' : String(v))} fromText={(s) => s} onChange={set(field)} describedBy={described(field)} {...opts} />
      <FieldMessage id={id(field)} message={props.errors[at(field)]} />
    </div>
  );
  const number = (field: string, label: string) => (
    <div class="field">
      <label for={id(field)}>{label}</label>
      <DraftInput id={id(field)} value={row[field]} toText={(v) => (v === undefined ? '' : String(v))} fromText={numberFrom} onChange={set(field)} describedBy={described(field)} />
      <FieldMessage id={id(field)} message={props.errors[at(field)]} />
    </div>
  );
  const choice = (options: string[]) => (
    <select id={id('defaultValue')} value={row.defaultValue === undefined ? '' : String(row.defaultValue)} aria-describedby={described('defaultValue')} onChange={(e) => {
        const v = (e.target as HTMLSelectElement).value;
        set('defaultValue')(type === 'boolean' ? (v === '' ? undefined : v === 'true') : v);
      }}>
      <option value="">(none)</option>
      {options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
  const name = typeof row.variable === 'string' && row.variable ? ` (${row.variable})` : '';
  return (
    <fieldset class="parameter">
      <legend>
        Parameter {index + 1}
        {name}
      </legend>
      <div class="parameter-grid">
        {text('variable', 'Variable (used as ${{ .param.NAME }})')}
        <div class="field">
          <label for={id('type')}>Type</label>
          <select id={id('type')} value={type} onChange={(e) => props.onChange(retype(row, (e.target as HTMLSelectElement).value as ParameterType))}>
            {PARAMETER_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        {text('label', 'Label')}
        <label class="inline">
          <input type="checkbox" checked={row.required === true} onChange={(e) => set('required')((e.target as HTMLInputElement).checked || undefined)} /> Required
        </label>
        {type === 'number' ? (
          number('defaultValue', 'Default')
        ) : type === 'boolean' || type === 'enum' ? (
          <div class="field">
            <label for={id('defaultValue')}>Default</label>
            {choice(type === 'boolean' ? ['true', 'false'] : Array.isArray(row.options) ? row.options.map(String) : [])}
            <FieldMessage id={id('defaultValue')} message={props.errors[at('defaultValue')]} />
          </div>
        ) : (
          text('defaultValue', 'Default', { multiline: type === 'multiline', type: type === 'password' ? 'password' : 'text' })
        )}
        {type === 'number' ? number('min', 'Minimum') : null}
        {type === 'number' ? number('max', 'Maximum') : null}
        {type === 'enum' ? (
          <div class="field">
            <label for={id('options')}>Options (one per line)</label>
            <DraftInput id={id('options')} multiline value={row.options} toText={(v) => (Array.isArray(v) ? v.join('\n') : '')} fromText={linesFrom} onChange={set('options')} describedBy={described('options')} />
            <FieldMessage id={id('options')} message={props.errors[at('options')]} />
          </div>
        ) : null}
        {TEXT_TYPES.includes(type) ? text('validation', 'Must match (regex)') : null}
        {TEXT_TYPES.includes(type) ? text('invalidation', 'Must not match (regex)') : null}
        {text('description', 'Description', { multiline: true })}
        {text('placeholder', 'Placeholder')}
        {text('section', 'Section')}
      </div>
      <FieldMessage id={`p${index}`} message={props.errors[`parameters[${index}]`]} />
      <div class="actions">
        <button type="button" disabled={index === 0} onClick={() => props.onMove(-1)}>
          Move up
        </button>
        <button type="button" disabled={index === props.count - 1} onClick={() => props.onMove(1)}>
          Move down
        </button>
        <button type="button" class="danger" onClick={props.onRemove}>
          Remove parameter {index + 1}
        </button>
      </div>
    </fieldset>
  );
}

export function ParametersEditor(props: { value: string; onChange: (text: string) => void }) {
  const [raw, setRaw] = useState(false);
  const [notice, setNotice] = useState('');
  const rows = parseRows(props.value);
  // the server's rules, run here as you type (the JSON view shows the same list)
  const problems = rows ? checkParameterDefinitions(rows, 'parameters') : [{ path: 'parameters', message: 'must be a JSON list of parameter objects' }];
  const errors: Record<string, string> = {};
  for (const p of problems) errors[p.path] ??= p.message;
  const change = (next: Row[]) => props.onChange(rowsText(next));
  const showForm = !raw && rows !== null;

  return (
    <section class="parameters" aria-labelledby="params-h">
      <div class="page-head">
        <h2 id="params-h">Parameters</h2>
        <label class="inline">
          <input
            type="checkbox"
            checked={!showForm}
            onChange={(e) => {
              const wantRaw = (e.target as HTMLInputElement).checked;
              if (!wantRaw && parseRows(props.value) === null) {
                setNotice('Fix the JSON (a list of parameter objects) to go back to the form.');
                return;
              }
              setNotice('');
              setRaw(wantRaw);
            }}
          />{' '}
          Edit as JSON
        </label>
      </div>
      {notice ? <p class="field-error" role="alert">{notice}</p> : null}
      {showForm ? (
        <>
          {rows.length === 0 ? <p class="muted">No parameters: spaces of this template ask for nothing. Add one to let users choose, e.g., a disk size.</p> : null}
          {rows.map((r, i) => (
            <ParameterRow
              key={i}
              row={r}
              index={i}
              count={rows.length}
              errors={errors}
              onChange={(next) => change(rows.map((x, j) => (j === i ? next : x)))}
              onMove={(by) => {
                const next = [...rows];
                const [moved] = next.splice(i, 1);
                next.splice(i + by, 0, moved!);
                change(next);
              }}
              onRemove={() => change(rows.filter((_, j) => j !== i))}
            />
          ))}
          <button type="button" onClick={() => change([...rows, { variable: freeName(rows), type: 'string' }])}>
            Add parameter
          </button>
        </>
      ) : (
        <div class="field">
          <label for="t-parameters">Parameters (JSON list)</label>
          <textarea id="t-parameters" class="mono" rows={12} spellcheck={false} value={props.value} aria-describedby="t-parameters-problems" onInput={(e) => props.onChange((e.target as HTMLTextAreaElement).value)} />
          <ul id="t-parameters-problems" class="problems">
            {problems.map((p, i) => (
              <li key={i} class="field-error">
                <code>{p.path}</code>: {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function freeName(rows: readonly Row[]): string {
  const taken = new Set(rows.map((r) => r.variable));
  let n = rows.length + 1;
  while (taken.has(`param${n}`)) n++;
  return `param${n}`;
}
