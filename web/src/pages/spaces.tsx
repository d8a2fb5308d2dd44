/**
 * The landing page: the spaces the caller may see, newest first, a page at a time (more on scroll
 * or "Load more"), filtered by the server by name prefix, status, owner (admins) and template; the
 * filters live in the URL (`?name=&phase=&owner=&template=`), so a filtered view can be linked and
 * survives a reload. Live: see spaces-store.ts.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Space } from '../api';
import { AgentNote, AgentServices } from '../agent';
import { ErrorBanner } from '../components';
import { phaseLabel, reasonText, uptime, PHASE_LABEL } from '../format';
import { navigate, useSearch } from '../router';
import { useMe } from '../session';
import { runningOp, SpaceActions } from '../space-actions';
import { anyFilter, filtersFromSearch, namePrefixOf, nameProblem, searchOf, type SpaceFilters } from '../space-filters';
import { NoSpacesYet } from '../starters';
import { useSpaces, type LiveOp } from '../spaces-store';
import { RowRefusal } from '../quota';

/** Quiet time after the last key in the name box before the list is asked again. */
const NAME_DEBOUNCE_MS = 250;

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

/** Names for a filter's options, loaded once (owners for admins, templates for everyone); the value in the URL is always offered. */
function useOptions(load: (() => Promise<string[]>) | null, current: string): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    load?.().then(setNames, () => setNames([]));
  }, [load !== null]);
  return current && !names.includes(current) ? [...names, current].sort() : names;
}

const loadOwners = async () => (await api().listUsers()).items.map((u) => u.username).sort();
const loadTemplates = async () => (await api().listTemplates()).items.map((t) => t.name).sort();

function FilterBar(props: { filters: SpaceFilters; isAdmin: boolean; onChange: (f: SpaceFilters) => void }) {
  const { filters, isAdmin, onChange } = props;
  const [typed, setTyped] = useState(filters.name);
  // the debounced name joins the filters as they are when it fires, not as they were at the key
  const latest = useRef(filters);
  latest.current = filters;
  const owners = useOptions(isAdmin ? loadOwners : null, filters.owner);
  const templates = useOptions(loadTemplates, filters.template);
  // the URL changed by itself (back, forward, a link): the box follows
  useEffect(() => {
    if (namePrefixOf(typed) !== filters.name) setTyped(filters.name);
  }, [filters.name]);
  useEffect(() => {
    const name = namePrefixOf(typed);
    if (name === filters.name) return;
    const t = setTimeout(() => onChange({ ...latest.current, name }), NAME_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [typed]);
  const problem = nameProblem(namePrefixOf(typed));
  const select = (key: keyof SpaceFilters, label: string, options: [string, string][]) => (
    <label>
      {label}
      <select value={filters[key] ?? ''} onChange={(e) => onChange({ ...filters, [key]: (e.target as HTMLSelectElement).value })}>
        <option value="">All</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div class="filters" role="search" aria-label="Filter spaces">
      <label>
        Name starts with
        <input
          type="search"
          value={typed}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={problem ? 'name-filter-error' : undefined}
          onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
        />
        {problem ? (
          <span id="name-filter-error" class="field-error">
            {problem}
          </span>
        ) : null}
      </label>
      {select('phase', 'Status', Object.entries(PHASE_LABEL))}
      {isAdmin ? select('owner', 'Owner', owners.map((o) => [o, o])) : null}
      {select('template', 'Template', templates.map((t) => [t, t]))}
      {select('shared', 'Show', [['true', 'Shared with me']])}
    </div>
  );
}

/** "Load more", pressed by itself when it scrolls into view. */
function LoadMore(props: { busy: boolean; onLoad: () => void }) {
  const ref = useRef<HTMLButtonElement>(null);
  const onLoad = useRef(props.onLoad);
  onLoad.current = props.onLoad;
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onLoad.current(), { rootMargin: '200px' });
    seen.observe(el);
    return () => seen.disconnect();
  }, []);
  return (
    <p class="load-more">
      <button type="button" ref={ref} disabled={props.busy} onClick={() => props.onLoad()}>
        {props.busy ? 'Loading…' : 'Load more'}
      </button>
    </p>
  );
}

export function SpacesPage() {
  const me = useMe();
  const search = useSearch();
  const filters = filtersFromSearch(search);
  const store = useSpaces(filters);
  // a refused action (a quota, …) is shown on its space's row; the next accepted one clears it
  const [rowErrors, setRowErrors] = useState<Record<string, unknown>>({});
  const setRowError = (id: string, e: unknown) => setRowErrors((r) => ({ ...r, [id]: e }));
  const [now, setNow] = useState(Date.now());
  // one clock for every uptime on the page (not a poll: nothing is fetched)
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);

  const shown = store.spaces;
  const setFilters = (f: SpaceFilters) => navigate(location.pathname + searchOf(f), true);

  return (
    <main id="main">
      <div class="page-head">
        <h1>Spaces</h1>
        <a class="button primary" href="/spaces/new">
          Create Space
        </a>
      </div>
      <FilterBar filters={filters} isAdmin={me.isAdmin} onChange={setFilters} />
      <ErrorBanner error={store.error} />
      {!store.loaded ? (
        <p aria-live="polite">Loading…</p>
      ) : shown.length === 0 ? (
        anyFilter(filters) ? <p>No space matches the filters.</p> : <NoSpacesYet />
      ) : (
        <table class="spaces">
          <caption class="sr-only">Your spaces, newest first ({shown.length} shown)</caption>
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
                  {s.sharedBy ? <span class="muted"> shared by {s.sharedBy}</span> : null}
                </th>
                {me.isAdmin ? <td>{s.owner}</td> : null}
                <td>
                  {s.template} <span class="muted">{s.status.appliedVersion ?? s.templateVersion ?? ''}</span>
                  {s.status.updateAvailable ? <span class="badge">Update Available</span> : null}
                </td>
                <td>
                  <Status space={s} live={store.live[s.id]} />
                  <RowRefusal error={rowErrors[s.id]} />
                </td>
                <td>
                  <AgentServices space={s} />
                </td>
                <td>{uptime(s, now)}</td>
                <td>
                  <SpaceActions
                    space={s}
                    live={store.live[s.id]}
                    onOperation={(id, op) => {
                      setRowError(id, null);
                      store.setLive(id, op);
                    }}
                    onError={(e) => setRowError(s.id, e)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {store.loaded && store.nextCursor ? <LoadMore busy={store.loadingMore} onLoad={() => void store.loadMore()} /> : null}
      <p class="sr-only" aria-live="polite">
        {shown.length} spaces shown{store.nextCursor ? ', more to load' : ''}
      </p>
    </main>
  );
}
