/** Templates (admins): the list, and on an empty store the starter templates knot ships. */
import { useEffect, useState } from 'preact/hooks';
import { api, type Template } from '../api';
import { ErrorBanner } from '../components';
import { EmptyState } from '../empty-state';
import { when } from '../format';
import { StarterAdded, StarterPicker, useStarters } from '../starters';

export function TemplatesPage() {
  const [list, setList] = useState<Template[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [added, setAdded] = useState<Template | null>(null);
  const load = () => void api().listTemplates().then((l) => setList(l.items), setError);
  useEffect(load, []);
  const starters = useStarters(list !== null && list.length === 0);
  return (
    <main id="main">
      <div class="page-head">
        <h1>Templates</h1>
        <a class="button primary" href="/templates/new">
          New Template
        </a>
      </div>
      <ErrorBanner error={error} />
      {added ? <StarterAdded template={added} /> : null}
      {list === null ? (
        <p>Loading…</p>
      ) : list.length === 0 ? (
        <>
          <EmptyState>
            No templates yet. A template is the Nomad job and volumes a space runs, with the parameters users fill in; every change is a new version. Add a
            starter below, write one with New Template, or push one with <code>knot template push</code>.
          </EmptyState>
          {starters?.offered && starters.items.length ? (
            <StarterPicker
              starters={starters.items}
              onAdded={(t) => {
                setAdded(t);
                load();
              }}
            />
          ) : null}
        </>
      ) : (
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
      )}
    </main>
  );
}
