/**
 * The space page's dormancy facts (core/dormancy.ts): when the cleanup sweep deletes the space if
 * it stays unused (`status.deletesAt`), and for admins the `dormancyExempt` setting as a checkbox
 * (a settings PATCH: 200 with the space, no update started).
 */
import { useState } from 'preact/hooks';
import { api, type Space } from './api';
import { errorText } from './components';
import { when } from './format';
import { useMe } from './session';

export function DormancyFacts(props: { space: Space; onSaved: (s: Space) => void }) {
  const { space } = props;
  const me = useMe();
  // what the box shows while the PATCH is in flight (the click's value, not the stale space)
  const [pending, setPending] = useState<boolean | null>(null);
  const [error, setError] = useState<unknown>(null);
  const deletesAt = space.status.deletesAt;
  const toggle = (exempt: boolean) => {
    setPending(exempt);
    setError(null);
    api()
      .setSpaceDormancyExempt(space.id, exempt)
      .then(props.onSaved, setError)
      .finally(() => setPending(null));
  };
  if (!deletesAt && !me.isAdmin && !space.dormancyExempt) return null;
  return (
    <>
      <dt>Dormancy</dt>
      <dd class="dormancy">
        {deletesAt ? (
          <span class="deletes-at" data-deletes-at={deletesAt}>
            Deleted if unused by <time dateTime={deletesAt}>{when(deletesAt)}</time>
          </span>
        ) : space.dormancyExempt ? (
          <span>Exempt: never deleted as unused</span>
        ) : (
          <span class="muted">Not deleted when unused</span>
        )}
        {me.isAdmin ? (
          <label class="inline-check">
            {' '}
            <input type="checkbox" checked={pending ?? space.dormancyExempt} disabled={pending !== null} onChange={(e) => toggle((e.target as HTMLInputElement).checked)} /> Exempt
          </label>
        ) : null}
        {error ? (
          <p class="row-error" role="alert">
            {errorText(error)}
          </p>
        ) : null}
      </dd>
    </>
  );
}
