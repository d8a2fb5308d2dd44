/**
 * The Spaces page's filters: what the URL holds (`?name=&phase=&owner=&template=`), what the API is
 * asked (server-side filters, newest first, a page at a time), and where a space the event stream
 * brings belongs among the rows loaded so far.
 */
import type { ListSpacesQuery, Space, SpacePhase } from './api';

export interface SpaceFilters {
  /** a name prefix, as the API takes it (lowercase) */
  name: string;
  phase: string;
  /** username */
  owner: string;
  /** template name */
  template: string;
  /** 'true': only the spaces others shared with me ("Shared with me") */
  shared?: string;
}

const KEYS = ['name', 'phase', 'owner', 'template', 'shared'] as const;

export function filtersFromSearch(search: string): SpaceFilters {
  const p = new URLSearchParams(search);
  return { name: p.get('name') ?? '', phase: p.get('phase') ?? '', owner: p.get('owner') ?? '', template: p.get('template') ?? '', ...(p.get('shared') === 'true' ? { shared: 'true' } : {}) };
}

/** `?name=…&phase=…` with only the filters set, '' when none is. */
export function searchOf(f: SpaceFilters): string {
  const p = new URLSearchParams();
  for (const k of KEYS) if (f[k]) p.set(k, f[k]);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function anyFilter(f: SpaceFilters): boolean {
  return KEYS.some((k) => !!f[k]);
}

/** What was typed in the name box, as space names are written (lowercase, no spaces around). */
export function namePrefixOf(typed: string): string {
  return typed.trim().toLowerCase();
}

/** Why the API would refuse this name prefix (the server's rule), or null. */
export function nameProblem(prefix: string): string | null {
  return prefix && !/^[a-z0-9-]{1,63}$/.test(prefix) ? 'Space names have only lowercase letters, digits and -' : null;
}

/** One page of the filtered list, newest first (a new space then belongs at the top). */
export function listQuery(f: SpaceFilters, limit: number, cursor?: string | null): ListSpacesQuery {
  return {
    order: 'newest',
    limit,
    ...(f.name ? { namePrefix: f.name } : {}),
    ...(f.phase ? { phase: f.phase as SpacePhase } : {}),
    ...(f.owner ? { owner: f.owner } : {}),
    ...(f.template ? { template: f.template } : {}),
    ...(f.shared ? { shared: 'true' as const } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/** Whether the server would list this space under these filters. */
export function matchesFilters(s: Space, f: SpaceFilters): boolean {
  return (!f.name || s.name.startsWith(f.name)) && (!f.phase || s.status.phase === f.phase) && (!f.owner || s.owner === f.owner) && (!f.template || s.template === f.template) && (!f.shared || s.sharedBy !== null);
}

/** The list's order, newest first: (createdAt, id) descending, as the API pages with order=newest. */
export function newestFirst(a: Space, b: Space): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The rows with a space that is not among them put at its place, or null when that place is past
 * the rows loaded so far while more pages remain (a later page brings it there).
 */
export function placed(rows: readonly Space[], s: Space, morePages: boolean): Space[] | null {
  const at = rows.findIndex((r) => newestFirst(s, r) < 0);
  if (at < 0) return morePages ? null : [...rows, s];
  return [...rows.slice(0, at), s, ...rows.slice(at)];
}
