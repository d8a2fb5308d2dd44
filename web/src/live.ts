/**
 * The one live event stream of the page (GET /api/v1/events through the typed client, resumed
 * with Last-Event-ID), fanned out to whatever is on screen. Nothing polls: pages refetch one
 * resource when an event says it changed, and everything on a `reset`.
 */
import { api, type KnotEvent, type ResetEvent } from './api';

type Listener = (e: KnotEvent | ResetEvent) => void;
const listeners = new Set<Listener>();
let abort: AbortController | null = null;
let connected = false;
const statusListeners = new Set<(up: boolean) => void>();

function setConnected(up: boolean) {
  connected = up;
  for (const l of statusListeners) l(up);
}

export function startLive(): void {
  if (abort) return;
  abort = new AbortController();
  const signal = abort.signal;
  void (async () => {
    try {
      for await (const e of api().events({ signal, onOpen: () => setConnected(true), onDisconnect: () => setConnected(false) })) {
        for (const l of listeners) l(e);
      }
    } catch {
      setConnected(false);
    }
  })();
}

export function stopLive(): void {
  abort?.abort();
  abort = null;
  setConnected(false);
}

export function onEvent(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function onConnection(l: (up: boolean) => void): () => void {
  statusListeners.add(l);
  l(connected);
  return () => statusListeners.delete(l);
}
