/**
 * A space's terminal, full window: xterm (DOM renderer, screen-reader mode so the text is in the DOM
 * for assistive technology) over client/terminal's TerminalConnection. Loaded lazily: xterm is most
 * of this chunk and the Spaces page does not need it.
 *
 * The session id lives in the URL (`?session=`), so a reload or a network drop re-attaches the same
 * shell and the server replays its recent output. The page connects while the space runs and says
 * so when it stops; "New terminal" after the shell exits starts another session.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { TERMINAL_SESSION_ID } from '../../../link/protocol';
import { newTerminalSessionId, TerminalCloseCode, TerminalConnection, type TerminalCloseKind } from '../../../client/terminal';
import { api, isKnotApiError, type Space } from '../api';
import { errorText } from '../components';
import { onEvent } from '../live';

type View =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'reconnecting'; attempt: number; waitingForAgent: boolean }
  | { kind: 'exited'; code: number | null; signal: number | null }
  | { kind: 'closed'; why: TerminalCloseKind; text: string };

const CLOSED_TEXT: Partial<Record<TerminalCloseKind, string>> = {
  ended: 'The session ended.',
  'not-found': 'This space does not exist, or it is not yours.',
  'not-running': 'The space is not running.',
  unauthorized: 'Not allowed: sign in again, then reload this page.',
  'bad-frame': 'The connection broke (a malformed frame). Reload to reconnect.',
};

/** The URL's session id, or a new one written into the URL so a reload re-attaches the same shell. */
function sessionFromUrl(): string {
  const id = new URLSearchParams(location.search).get('session');
  if (id && TERMINAL_SESSION_ID.test(id)) return id;
  return putSessionInUrl(newTerminalSessionId());
}

function putSessionInUrl(id: string): string {
  const q = new URLSearchParams(location.search);
  q.set('session', id);
  history.replaceState(history.state, '', `${location.pathname}?${q.toString()}`);
  return id;
}

function statusText(view: View): string {
  switch (view.kind) {
    case 'connecting':
      return 'Connecting…';
    case 'open':
      return 'Connected.';
    case 'reconnecting':
      return view.waitingForAgent ? `Waiting for the space's agent (attempt ${view.attempt})…` : `Reconnecting (attempt ${view.attempt})…`;
    case 'exited':
      return view.code !== null ? `The shell ended (exit code ${view.code}).` : `The shell ended (signal ${view.signal ?? 'unknown'}).`;
    case 'closed':
      return view.text;
  }
}

export function TerminalPage(props: { id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const conn = useRef<TerminalConnection | null>(null);
  const wasRunning = useRef(false);
  const [space, setSpace] = useState<Space | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [gone, setGone] = useState(false);
  const [session, setSession] = useState(sessionFromUrl);
  const [view, setView] = useState<View>({ kind: 'connecting' });
  const [notice, setNotice] = useState('');

  // the terminal itself: one per page, kept across reconnects and new sessions
  useEffect(() => {
    const t = new Terminal({ screenReaderMode: true, cursorBlink: true, scrollback: 5000, fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 14, lineHeight: 1.15 });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(box.current!);
    fit.fit();
    t.focus();
    term.current = t;
    t.onData((s) => conn.current?.send(s));
    // mouse reports in X10 mode: one byte per character
    t.onBinary((s) => conn.current?.send(Uint8Array.from(s, (c) => c.charCodeAt(0) & 255)));
    t.onResize(({ cols, rows }) => conn.current?.resize(cols, rows));
    // the box changes with the window and with the status line: refit once per frame at most
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => fit.fit());
    });
    observer.observe(box.current!);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      t.dispose();
      term.current = null;
    };
  }, []);

  // the space: its name for the title, its phase to connect or to say it stopped
  useEffect(() => {
    const load = () =>
      api()
        .getSpace(props.id)
        .then(setSpace, (e: unknown) => {
          if (isKnotApiError(e) && e.status === 404) setGone(true);
          else setLoadError(e);
        });
    void load();
    return onEvent((e) => {
      if (e.type === 'reset') return void load();
      if (e.spaceId !== props.id) return;
      if (e.type === 'space.deleted') return setGone(true);
      if (e.phase) setSpace((s) => (s && s.status.phase !== e.phase ? { ...s, status: { ...s.status, phase: e.phase as Space['status']['phase'] } } : s));
    });
  }, [props.id]);

  useEffect(() => {
    if (space) document.title = `Terminal — ${space.name}`;
  }, [space?.name]);

  const running = space?.status.phase === 'running' && !gone;
  if (running) wasRunning.current = true;

  // one connection per (running, session): a stop closes it, a start or "New terminal" opens one
  useEffect(() => {
    const t = term.current;
    if (!running || !t || !space) return;
    setView({ kind: 'connecting' });
    setNotice('');
    const c = new TerminalConnection({
      url: location.origin,
      spaceId: props.id,
      session,
      shell: space.shell,
      cols: t.cols,
      rows: t.rows,
      onData: (bytes) => t.write(bytes),
      // the replay repaints the screen: start from a clean one so nothing shows twice
      onHello: (info) => {
        if (info.replayed > 0) t.reset();
      },
      onNotice: setNotice,
      onExit: (info) => setView({ kind: 'exited', code: info.code, signal: info.signal }),
      onStatus: (status, detail) => {
        if (status === 'connecting') setView({ kind: 'connecting' });
        else if (status === 'open') setView({ kind: 'open' });
        else if (status === 'reconnecting') setView({ kind: 'reconnecting', attempt: detail.attempt ?? 1, waitingForAgent: detail.code === TerminalCloseCode.AgentNotConnected });
        else if (detail.kind === 'exit') return;
        // closed by this page (unmount, stop): what follows says why
        else if (detail.kind === 'client' && !detail.reason) return;
        else setView({ kind: 'closed', why: detail.kind ?? 'ended', text: CLOSED_TEXT[detail.kind ?? 'ended'] ?? detail.error ?? detail.reason ?? 'Disconnected.' });
      },
    });
    conn.current = c;
    return () => {
      c.close();
      if (conn.current === c) conn.current = null;
    };
  }, [running, session]);

  function newTerminal() {
    term.current?.reset();
    setSession(putSessionInUrl(newTerminalSessionId()));
    term.current?.focus();
  }

  let line: string;
  if (gone) line = 'The space was deleted.';
  else if (loadError) line = errorText(loadError);
  else if (!space) line = 'Loading…';
  else if (!running) line = wasRunning.current ? 'The space stopped.' : 'The space is not running. This terminal connects when it runs.';
  else line = statusText(view);
  const canRestart = running && (view.kind === 'exited' || (view.kind === 'closed' && view.why === 'ended'));

  return (
    <main id="main" class="terminal-page">
      <h1 class="sr-only">Terminal — {space?.name ?? 'space'}</h1>
      <div class="term-status">
        <span role="status" aria-live="polite">
          {line}
          {notice && running ? <span class="term-notice"> {notice}</span> : null}
        </span>
        {canRestart ? (
          <button type="button" onClick={newTerminal}>
            New terminal
          </button>
        ) : null}
        <span class="term-space muted">{space ? `${space.name} · ${space.shell}` : ''}</span>
      </div>
      <div class="term-box" ref={box} />
    </main>
  );
}
