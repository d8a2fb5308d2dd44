/** What an empty list is for and what to do next: one line, and the action when there is one. */
import type { ComponentChildren } from 'preact';

export function EmptyState(props: { children: ComponentChildren; action?: ComponentChildren }) {
  return (
    <div class="empty-state">
      <p>{props.children}</p>
      {props.action ? <div class="empty-action">{props.action}</div> : null}
    </div>
  );
}
