/**
 * The spaces on screen: the first page of the filtered list (server-side filters, newest first),
 * more pages on demand, kept current by the event stream. A step event updates the row at once (no
 * request), so does an agent event (its `agent` replaces the row's); a phase, update-available or
 * finished event refetches that one space: a row on screen is replaced in place — and stays even
 * when it no longer matches the filters (a row does not vanish under the pointer; the next reload
 * or filter change drops it) — and a space not on screen that matches the filters goes to its place
 * when that is among the rows loaded (a new space: the top). A reset reloads the first page. No
 * timers, no polling.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type KnotEvent, type Space } from './api';
import { eventAgent, isAgentEvent, withEvent } from './agent';
import { onEvent } from './live';
import { listQuery, matchesFilters, nameProblem, placed, searchOf, type SpaceFilters } from './space-filters';

/** Rows a page brings (the API's default page). */
export const PAGE_SIZE = 50;

export interface LiveOp {
  operationId: string;
  operationType: string | null;
  status: string;
  step: string | null;
  stepStatus: string | null;
  error: { type: string; message: string } | null;
}

export interface SpacesState {
  spaces: Space[];
  live: Record<string, LiveOp>;
  loaded: boolean;
  error: unknown;
  /** the next page's cursor; null once every page is on screen */
  nextCursor: string | null;
  loadingMore: boolean;
}

export interface SpacesStore extends SpacesState {
  reload: () => Promise<void>;
  loadMore: () => Promise<void>;
  setLive: (spaceId: string, op: LiveOp) => void;
}

const INITIAL: SpacesState = { spaces: [], live: {}, loaded: false, error: null, nextCursor: null, loadingMore: false };

export function useSpaces(filters: SpaceFilters): SpacesStore {
  const [state, setState] = useState<SpacesState>(INITIAL);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  const stateRef = useRef(state);
  stateRef.current = state;
  // answers of an older list (before a filter change or reset) are dropped
  const generation = useRef(0);
  const fetchingMore = useRef(false);

  async function reload() {
    const gen = ++generation.current;
    fetchingMore.current = false;
    const f = filtersRef.current;
    if (nameProblem(f.name)) {
      setState((s) => ({ ...s, spaces: [], nextCursor: null, loaded: true, loadingMore: false, error: null }));
      return;
    }
    try {
      const page = await api().listSpaces(listQuery(f, PAGE_SIZE));
      if (gen !== generation.current) return;
      setState((s) => ({ ...s, spaces: page.items, nextCursor: page.nextCursor, loaded: true, loadingMore: false, error: null }));
    } catch (error) {
      if (gen === generation.current) setState((s) => ({ ...s, loaded: true, loadingMore: false, error }));
    }
  }

  async function loadMore() {
    const cursor = stateRef.current.nextCursor;
    if (!cursor || fetchingMore.current) return;
    fetchingMore.current = true;
    const gen = generation.current;
    setState((s) => ({ ...s, loadingMore: true }));
    try {
      const page = await api().listSpaces(listQuery(filtersRef.current, PAGE_SIZE, cursor));
      if (gen !== generation.current) return;
      setState((s) => {
        const have = new Set(s.spaces.map((x) => x.id));
        return { ...s, spaces: [...s.spaces, ...page.items.filter((x) => !have.has(x.id))], nextCursor: page.nextCursor, loadingMore: false, error: null };
      });
    } catch (error) {
      if (gen === generation.current) setState((s) => ({ ...s, loadingMore: false, error }));
    } finally {
      if (gen === generation.current) fetchingMore.current = false;
    }
  }

  async function refetch(id: string) {
    const gen = generation.current;
    try {
      const fresh = await api().getSpace(id);
      if (gen !== generation.current) return;
      setState((s) => {
        if (s.spaces.some((x) => x.id === id)) return { ...s, spaces: s.spaces.map((x) => (x.id === id ? fresh : x)) };
        if (!matchesFilters(fresh, filtersRef.current)) return s;
        const spaces = placed(s.spaces, fresh, s.nextCursor !== null);
        return spaces ? { ...s, spaces } : s;
      });
    } catch {
      setState((s) => ({ ...s, spaces: s.spaces.filter((x) => x.id !== id) }));
    }
  }

  function apply(e: KnotEvent) {
    setState((s) => {
      const live = { ...s.live };
      // an agent event names the space's last operation too; it says nothing new about it
      if (e.operationId && !isAgentEvent(e)) {
        const prev = live[e.spaceId];
        const same = prev?.operationId === e.operationId;
        live[e.spaceId] = {
          operationId: e.operationId,
          operationType: e.operationType ?? prev?.operationType ?? null,
          status: e.status ?? (same ? prev.status : 'running'),
          step: e.step ?? (same ? prev.step : null),
          stepStatus: e.stepStatus ?? (same ? prev.stepStatus : null),
          error: e.error ?? null,
        };
      }
      const agent = eventAgent(e);
      const spaces = e.phase || agent ? s.spaces.map((x) => (x.id === e.spaceId ? withEvent(x, e.phase, agent) : x)) : s.spaces;
      return { ...s, spaces, live };
    });
  }

  useEffect(
    () =>
      onEvent((e) => {
        if (e.type === 'reset') {
          void reload();
          return;
        }
        if (e.type === 'space.deleted') {
          setState((s) => ({ ...s, spaces: s.spaces.filter((x) => x.id !== e.spaceId) }));
          return;
        }
        apply(e);
        if (e.type !== 'operation.step' && !isAgentEvent(e)) void refetch(e.spaceId);
      }),
    [],
  );

  // the first page again whenever a filter changes (the rows of the old filters stay until it comes)
  const key = searchOf(filters);
  useEffect(() => {
    void reload();
  }, [key]);

  return {
    ...state,
    reload,
    loadMore,
    setLive: (spaceId, op) => setState((s) => ({ ...s, live: { ...s.live, [spaceId]: op } })),
  };
}
