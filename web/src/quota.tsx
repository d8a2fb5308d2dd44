/** Quotas in the UI: a refusal on a space's row, and usage against limits (Account, Admin). */
import { useEffect, useState } from 'preact/hooks';
import type { QuotaUsage } from '../../client/types';
import { api, isKnotApiError } from './api';
import { errorText } from './components';

const QUOTA_LABELS: Record<string, string> = { maxSpaces: 'Spaces', computeUnits: 'Compute units', storageUnits: 'Storage units' };

/** Why an action on this row was refused (a quota, another operation, …), on the row itself. */
export function RowRefusal(props: { error: unknown }) {
  if (!props.error) return null;
  const quota = isKnotApiError(props.error) && props.error.type === 'quota_exceeded' ? props.error.problem : null;
  return (
    <p class="row-error" role="alert" data-refusal={quota ? 'quota_exceeded' : 'error'}>
      {quota ? `${QUOTA_LABELS[String(quota.quota)] ?? String(quota.quota)}: ${String(quota.usage)} used + ${String(quota.request)} requested, limit ${String(quota.limit)}` : errorText(props.error)}
    </p>
  );
}

function sourceText(source: string | null): string {
  if (source === null) return 'no limit';
  return source === 'user' ? 'set on the user' : `from group ${source.replace(/^group:/, '')}`;
}

/** A user's usage against their effective limits; `user` is an id, a username or `me`. */
export function QuotaUsageTable(props: { user: string; caption?: string }) {
  const [usage, setUsage] = useState<QuotaUsage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api().userUsage(props.user).then(setUsage, setError);
  }, [props.user]);
  if (error) return <p class="error-banner">{errorText(error)}</p>;
  if (!usage) return <p aria-live="polite">Loading usage…</p>;
  return (
    <table class="quota-usage" data-user={usage.user}>
      <caption>{props.caption ?? 'Usage and limits'} (your own limit where set, else the most generous of your groups')</caption>
      <thead>
        <tr>
          <th scope="col">Quota</th>
          <th scope="col">Used</th>
          <th scope="col">Limit</th>
          <th scope="col">Where the limit comes from</th>
        </tr>
      </thead>
      <tbody>
        {usage.items.map((i) => (
          <tr key={i.quota} data-quota={i.quota} class={i.limit !== null && i.usage >= i.limit ? 'at-limit' : undefined}>
            <th scope="row">{QUOTA_LABELS[i.quota] ?? i.quota}</th>
            <td>{i.usage}</td>
            <td>{i.limit ?? '—'}</td>
            <td>{sourceText(i.source)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type Limits = { maxSpaces: number | null; computeUnits: number | null; storageUnits: number | null };
const NO_LIMITS: Limits = { maxSpaces: null, computeUnits: null, storageUnits: null };

/** Edits the limits set on a user or a group: a blank field removes that limit (null). */
export function QuotaEditor(props: { label: string; quota: Limits | undefined; onSave: (patch: Limits) => Promise<unknown> }) {
  const current = props.quota ?? NO_LIMITS;
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const kinds = ['maxSpaces', 'computeUnits', 'storageUnits'] as const;
  const valueOf = (k: (typeof kinds)[number]) => values[k] ?? (current[k] === null ? '' : String(current[k]));
  return (
    <form
      class="inline-form quota-editor"
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        const patch = { ...NO_LIMITS };
        for (const k of kinds) patch[k] = valueOf(k).trim() === '' ? null : Number(valueOf(k));
        void props.onSave(patch).then(() => setValues({}), setError);
      }}
    >
      {kinds.map((k) => (
        <div class="field" key={k}>
          <label for={`q-${props.label}-${k}`}>{QUOTA_LABELS[k]}</label>
          <input id={`q-${props.label}-${k}`} type="number" min="0" placeholder="no limit" value={valueOf(k)} onInput={(e) => setValues((v) => ({ ...v, [k]: (e.target as HTMLInputElement).value }))} />
        </div>
      ))}
      <button type="submit" aria-label={`Save quota of ${props.label}`}>
        Save quota
      </button>
      {error ? <p class="error-banner">{errorText(error)}</p> : null}
    </form>
  );
}

/**
 * Create Space: what the chosen template costs next to the caller's usage against their limits
 * (GET /api/v1/users/me/usage), so a create or start over quota is no surprise.
 */
export function TemplateUnitsUsage(props: { template: { computeUnits?: number; storageUnits?: number } | null }) {
  const [usage, setUsage] = useState<QuotaUsage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api().userUsage('me').then(setUsage, setError);
  }, []);
  if (!props.template) return null;
  const cost: Record<string, string> = {
    maxSpaces: '1',
    computeUnits: String(props.template.computeUnits ?? 1),
    storageUnits: props.template.storageUnits !== undefined ? String(props.template.storageUnits) : 'its volumes’ size (GiB)',
  };
  return (
    <div class="template-units" aria-live="polite">
      <p class="help">
        This template: <span data-units="computeUnits">{cost.computeUnits} compute</span>, <span data-units="storageUnits">{cost.storageUnits} storage</span> units per space.
      </p>
      {error ? <p class="help">Usage unavailable: {errorText(error)}</p> : null}
      {usage ? (
        <ul class="quota-usage-inline" aria-label="Your usage against your limits">
          {usage.items.map((i) => (
            <li key={i.quota} data-quota={i.quota} class={i.limit !== null && i.usage >= i.limit ? 'at-limit' : undefined}>
              {QUOTA_LABELS[i.quota] ?? i.quota}: {i.usage} used of {i.limit ?? 'no limit'} (+{cost[i.quota] ?? '?'})
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
