/** The landing page: every space the caller may see, live. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Space } from '../api';
import { AgentNote, AgentServices } from '../agent';
import { ErrorBanner } from '../components';
import { phaseLabel, reasonText, uptime, PHASE_LABEL } from '../format';
import { useMe } from '../session';
import { runningOp, SpaceActions } from '../space-actions';
import { useSpaces, type LiveOp } from '../spaces-store';

function Status(props: { space: Space; live: LiveOp | undefined }) {
  const { space, live } = props;
  const op = runningOp(space, live);
  const phase = space.status.phase;
  const failedNow = live?.status === 'failed' && !op ? live.error?.message : undefined;
  const reason = op ? '' : (failedNow ?? reasonText(space));
  return (
    <div class="status">
      <span class={`phase phase-${phase}`}>{phaseLabel(phase)}</span>
      {op ? <span class="step">{op.step ?? `${op.type} requested`}</span> : null}
      {reason ? <span class="reason">{reason}</span> : null}
      {!op && !reason && live?.status === 'cancelled' ? <span class="reason">cancelled</span> : null}
      <AgentNote space={space} />
    </div>
  );
}

export function SpacesPage() {
  const me = useMe();
  const store = useSpaces();
  const [nameFilter, setNameFilter] = useState('');
  const [phaseFilter, setPhaseFilter] = useState('');
  const [ownerFilter, setOwnerFilter] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  const [now, setNow] = useState(Date.now());
  // one clock for every uptime on the page (not a poll: nothing is fetched)
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);

  const owners = useMemo(() => [...new Set(store.spaces.map((s) => s.owner))].sort(), [store.spaces]);
  const shown = useMemo(() => {
    const q = nameFilter.trim().toLowerCase();
    return store.spaces
      .filter((s) => (!q || s.name.toLowerCase().includes(q)) && (!phaseFilter || s.status.phase === phaseFilter) && (!ownerFilter || s.owner === ownerFilter))
      .sort((a, b) => a.name.localeCompare(b.name) || a.owner.localeCompare(b.owner));
  }, [store.spaces, nameFilter, phaseFilter, ownerFilter]);

  return (
    <main id="main">
      <div class="page-head">
        <h1>Spaces</h1>
        <a class="button primary" href="/spaces/new">
          Create Space
        </a>
      </div>
      <div class="filters" role="search" aria-label="Filter spaces">
        <label>
          Name <input type="search" value={nameFilter} onInput={(e) => setNameFilter((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Status
          <select value={phaseFilter} onChange={(e) => setPhaseFilter((e.target as HTMLSelectElement).value)}>
            <option value="">All</option>
            {Object.entries(PHASE_LABEL).map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        {me.isAdmin ? (
          <label>
            Owner
            <select value={ownerFilter} onChange={(e) => setOwnerFilter((e.target as HTMLSelectElement).value)}>
              <option value="">All</option>
              {owners.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      <ErrorBanner error={store.error ?? actionError} />
      {!store.loaded ? (
        <p aria-live="polite">Loading…</p>
      ) : shown.length === 0 ? (
        <p>{store.spaces.length ? 'No space matches the filters.' : 'No spaces yet. Create one to get started.'}</p>
      ) : (
        <table class="spaces">
          <caption class="sr-only">Your spaces ({shown.length})</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {me.isAdmin ? <th scope="col">Owner</th> : null}
              <th scope="col">Template</th>
              <th scope="col">Status</th>
              <th scope="col">Services</th>
              <th scope="col">Uptime</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.id} data-space={s.name}>
                <th scope="row">
                  <a href={`/spaces/${s.id}`}>{s.name}</a>
                </th>
                {me.isAdmin ? <td>{s.owner}</td> : null}
                <td>
                  {s.template} <span class="muted">{s.status.appliedVersion ?? s.templateVersion ?? ''}</span>
                  {s.status.updateAvailable ? <span class="badge">Update Available</span> : null}
                </td>
                <td>
                  <Status space={s} live={store.live[s.id]} />
                </td>
                <td>
                  <AgentServices space={s} />
                </td>
                <td>{uptime(s, now)}</td>
                <td>
                  <SpaceActions space={s} live={store.live[s.id]} onOperation={store.setLive} onError={setActionError} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="sr-only" aria-live="polite">
        {shown.length} spaces shown
      </p>
    </main>
  );
}
