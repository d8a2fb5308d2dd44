/**
 * First run: the starter templates knot ships (examples/templates, GET /api/v1/template-starters),
 * offered while the store has no template, each added with one click as an ordinary template; and
 * what the Spaces page says when there is no space yet.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type Template, type TemplateStarter, type TemplateStarterList } from './api';
import { ErrorBanner } from './components';
import { EmptyState } from './empty-state';
import { useMe } from './session';

/** The starters and whether they are offered (admins only; null while loading or for users). */
export function useStarters(enabled: boolean): TemplateStarterList | null {
  const [list, setList] = useState<TemplateStarterList | null>(null);
  useEffect(() => {
    if (enabled) api().templateStarters().then(setList, () => setList({ offered: false, items: [] }));
  }, [enabled]);
  return list;
}

export function StarterPicker(props: { starters: readonly TemplateStarter[]; onAdded: (t: Template) => void }) {
  const [busy, setBusy] = useState('');
  const [error, setError] = useState<unknown>(null);
  async function add(name: string) {
    setBusy(name);
    setError(null);
    try {
      props.onAdded(await api().addTemplateStarter(name));
    } catch (e) {
      setError(e);
    } finally {
      setBusy('');
    }
  }
  return (
    <section class="starters" aria-labelledby="starters-h">
      <h2 id="starters-h">Start from a template knot ships</h2>
      <p class="muted">Each is added as an ordinary template (version 1.0.0) that you can edit afterwards.</p>
      <ul class="starter-list">
        {props.starters.map((s) => (
          <li key={s.name}>
            <div>
              <strong>{s.displayName}</strong> <code class="muted">{s.name}</code>
              <p class="help">{s.description}</p>
            </div>
            <button type="button" class="primary" disabled={busy !== ''} onClick={() => void add(s.name)}>
              Add {s.name}
            </button>
          </li>
        ))}
      </ul>
      <ErrorBanner error={error} />
    </section>
  );
}

/** A template just added from a starter: where to go next. */
export function StarterAdded(props: { template: Template }) {
  return (
    <p class="ok" role="status">
      Template {props.template.name} added. <a href="/spaces/new">Create Space</a> from it, or{' '}
      <a href={`/templates/${encodeURIComponent(props.template.name)}`}>edit it</a>.
    </p>
  );
}

/** The Spaces page with no space and no filter: how to get the first one. */
export function NoSpacesYet() {
  const me = useMe();
  const starters = useStarters(me.isAdmin);
  const [added, setAdded] = useState<Template | null>(null);
  if (added) return <StarterAdded template={added} />;
  if (me.isAdmin && starters === null) return <p aria-live="polite">Loading…</p>;
  if (starters?.offered && starters.items.length) {
    return (
      <>
        <EmptyState>No spaces yet, and no template to make one from. A template is the Nomad job a space runs; add one of these to begin.</EmptyState>
        <StarterPicker starters={starters.items} onAdded={setAdded} />
      </>
    );
  }
  return (
    <EmptyState action={<a class="button" href="/spaces/new">Create your first space</a>}>
      No spaces yet. A space is your development environment, made from a template; it runs when you start it.
    </EmptyState>
  );
}
