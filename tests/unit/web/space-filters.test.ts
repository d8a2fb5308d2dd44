/**
 * The Spaces page's filters (web/src/space-filters.ts): the URL round trip, the API query, the
 * client-side match a live space is held to, and where a space arriving live goes among the rows.
 */
import type { Space } from '../../../web/src/api';
import { anyFilter, filtersFromSearch, listQuery, matchesFilters, nameProblem, namePrefixOf, placed, searchOf } from '../../../web/src/space-filters';

function space(name: string, createdAt: string, over: { id?: string; owner?: string; template?: string; phase?: Space['status']['phase'] } = {}): Space {
  return {
    id: over.id ?? `id-${name}`,
    name,
    owner: over.owner ?? 'alice',
    template: over.template ?? 'debian',
    createdAt,
    status: { phase: over.phase ?? 'stopped' },
  } as unknown as Space;
}

describe('space filters', () => {
  it('round-trip through the URL, only the filters set', () => {
    const f = { name: 'web', phase: 'running', owner: 'bob', template: '' };
    expect(searchOf(f)).toBe('?name=web&phase=running&owner=bob');
    expect(filtersFromSearch(searchOf(f))).toEqual(f);
    expect(searchOf(filtersFromSearch(''))).toBe('');
    expect(anyFilter(filtersFromSearch(''))).toBe(false);
    expect(anyFilter(filtersFromSearch('?template=x'))).toBe(true);
  });

  it('ask the API for a page, newest first, with the filters set', () => {
    expect(listQuery({ name: 'web', phase: '', owner: '', template: 'debian' }, 50)).toEqual({ order: 'newest', limit: 50, namePrefix: 'web', template: 'debian' });
    expect(listQuery({ name: '', phase: 'failed', owner: 'bob', template: '' }, 50, 'abc')).toEqual({ order: 'newest', limit: 50, phase: 'failed', owner: 'bob', cursor: 'abc' });
  });

  it('take what is typed as a lowercase prefix and say when the server would refuse it', () => {
    expect(namePrefixOf('  Web-1 ')).toBe('web-1');
    expect(nameProblem('web-1')).toBeNull();
    expect(nameProblem('')).toBeNull();
    expect(nameProblem('web 1')).toMatch(/lowercase letters, digits and -/);
    expect(nameProblem('a%')).not.toBeNull();
  });

  it('match a space as the server does: name prefix, phase, owner, template', () => {
    const s = space('web-1', '2026-01-01T00:00:00.000Z', { phase: 'running', owner: 'bob', template: 'debian' });
    expect(matchesFilters(s, { name: 'web', phase: 'running', owner: 'bob', template: 'debian' })).toBe(true);
    expect(matchesFilters(s, { name: 'eb', phase: '', owner: '', template: '' })).toBe(false);
    expect(matchesFilters(s, { name: '', phase: 'stopped', owner: '', template: '' })).toBe(false);
    expect(matchesFilters(s, { name: '', phase: '', owner: 'alice', template: '' })).toBe(false);
    expect(matchesFilters(s, { name: '', phase: '', owner: '', template: 'other' })).toBe(false);
  });

  it('put a live space at its newest-first place among the rows loaded, or leave it to a later page', () => {
    const rows = [space('c', '2026-01-03T00:00:00.000Z'), space('b', '2026-01-02T00:00:00.000Z'), space('a', '2026-01-01T00:00:00.000Z')];
    const names = (r: Space[] | null) => r?.map((s) => s.name) ?? null;
    expect(names(placed(rows, space('new', '2026-01-04T00:00:00.000Z'), true))).toEqual(['new', 'c', 'b', 'a']);
    expect(names(placed(rows, space('mid', '2026-01-02T12:00:00.000Z'), true))).toEqual(['c', 'mid', 'b', 'a']);
    // the same time: the larger id first, as the API orders (createdAt, id) descending
    expect(names(placed(rows, space('tie', '2026-01-02T00:00:00.000Z', { id: 'id-z' }), true))).toEqual(['c', 'tie', 'b', 'a']);
    expect(names(placed(rows, space('old', '2025-12-31T00:00:00.000Z'), true))).toBeNull();
    expect(names(placed(rows, space('old', '2025-12-31T00:00:00.000Z'), false))).toEqual(['c', 'b', 'a', 'old']);
    expect(names(placed([], space('first', '2026-01-01T00:00:00.000Z'), false))).toEqual(['first']);
  });
});
