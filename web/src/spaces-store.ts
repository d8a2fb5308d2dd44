/**
 * The spaces on screen, kept current by the event stream: a step event updates the row at once
 * (no request), so does an agent event (its `agent` replaces the row's); a phase,
 * update-available or finished event refetches that one space; a reset refetches the list. No
 * timers, no polling.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type KnotEvent, type Space } from './api';
import { eventAgent, isAgentEvent, withEvent } from './agent';
import { onEvent } from './live';

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
}

export function useSpaces(): SpacesState & { reload: () => Promise<void>; setLive: (spaceId: string, op: LiveOp) => void } {
  const [state, setState] = useState<SpacesState>({ spaces: [], live: {}, loaded: false, error: null });

  async function reload() {
    try {
      const spaces = await api().listAllSpaces();
      setState((s) => ({ ...s, spaces, loaded: true, error: null }));
    } catch (error) {
      setState((s) => ({ ...s, loaded: true, error }));
    }
  }

  async function refetch(id: string) {
    try {
      const fresh = await api().getSpace(id);
      setState((s) => {
        const i = s.spaces.findIndex((x) => x.id === id);
        const spaces = i < 0 ? [...s.spaces, fresh] : s.spaces.map((x) => (x.id === id ? fresh : x));
        return { ...s, spaces };
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

  useEffect(() => {
    void reload();
    return onEvent((e) => {
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
    });
  }, []);

  return {
    ...state,
    reload,
    setLive: (spaceId, op) => setState((s) => ({ ...s, live: { ...s.live, [spaceId]: op } })),
  };
}
