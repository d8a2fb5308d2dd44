/** Small shared pieces: a real modal <dialog>, field errors, service icons. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { FieldError } from './api';
import { KnotApiError } from './api';

/**
 * A modal <dialog>, open while mounted: showModal() traps focus inside and moves it in, Escape
 * closes it, and focus returns to what opened it.
 */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; describedBy?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    ref.current?.showModal();
    return () => opener?.focus?.();
  }, []);
  const titleId = `dlg-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} aria-labelledby={titleId} aria-describedby={props.describedBy} onCancel={(e) => { e.preventDefault(); props.onClose(); }}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** A secret the server shows once (a token, an agent command line), in a read-only field to copy. */
export function ShownOnceDialog(props: { title: string; intro: string; label: string; value: string; onClose: () => void }) {
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p>{props.intro}</p>
      <input aria-label={props.label} readOnly value={props.value} class="mono wide" />
      <div class="dialog-buttons">
        <button type="button" class="primary" onClick={props.onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

/** Field errors of a failed request by path (`name`, `parameters.size`, …). */
export function fieldErrors(e: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (e instanceof KnotApiError) for (const f of e.errors as FieldError[]) out[f.path] ??= f.message;
  return out;
}

export function errorText(e: unknown): string {
  if (e instanceof KnotApiError) return e.detail || e.title;
  return (e as Error)?.message ?? String(e);
}

export function ErrorBanner(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p class="error-banner" role="alert">
      {errorText(props.error)}
    </p>
  );
}

/** An input's error line, tied to it by aria-describedby="<id>-error". */
export function FieldMessage(props: { id: string; message?: string | undefined }) {
  if (!props.message) return null;
  return (
    <p class="field-error" id={`${props.id}-error`}>
      {props.message}
    </p>
  );
}

const ICONS: Record<string, string> = {
  ssh: 'M3 5h18v14H3zM6 9l3 3-3 3M11 15h5',
  codeServer: 'M8 7l-5 5 5 5M16 7l5 5-5 5M13 5l-2 14',
  terminal: 'M3 5h18v14H3zM7 10l2 2-2 2M11 14h4',
  ports: 'M4 12h4m8 0h4M8 8h8v8H8z',
};

/** A service's icon, decorative: the link or button around it carries the name. */
export function ServiceGlyph(props: { kind: keyof typeof ICONS }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path d={ICONS[props.kind]} fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
