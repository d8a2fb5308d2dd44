/**
 * The space page's Auto-start editor (core/autostart.ts): weekdays, a time, an optional IANA time
 * zone (empty: the owner's). Saving is a settings PATCH (200, no update started); the server
 * checks the template's `autostart: false` and `schedule` and answers a 400 naming the field
 * (`autostart`, `autostart.at`, `autostart.timezone`), shown under that field. Only the owner and
 * admins may change it; others see the setting read-only.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type Space } from './api';
import { FieldMessage, errorText, fieldErrors } from './components';
import { when } from './format';

const DAYS = [
  ['mon', 'Mon'],
  ['tue', 'Tue'],
  ['wed', 'Wed'],
  ['thu', 'Thu'],
  ['fri', 'Fri'],
  ['sat', 'Sat'],
  ['sun', 'Sun'],
] as const;
type Day = (typeof DAYS)[number][0];

/** "Mon, Tue at 09:00 (Europe/Paris)", or "Off". */
export function autostartText(a: Space['autostart']): string {
  if (!a) return 'Off';
  const days = a.days.map((d) => DAYS.find(([k]) => k === d)?.[1] ?? d).join(', ');
  return `${days} at ${a.at} (${a.timezone ?? "owner's time zone"})`;
}

export function AutostartEditor(props: { space: Space; onSaved: (s: Space) => void }) {
  const { space } = props;
  const current = space.autostart;
  const [days, setDays] = useState<Day[]>(current?.days ?? []);
  const [at, setAt] = useState(current?.at ?? '09:00');
  const [tz, setTz] = useState(current?.timezone ?? '');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  // a save elsewhere (another tab, the CLI) reaches us through the space reloading
  useEffect(() => {
    setDays(current?.days ?? []);
    setAt(current?.at ?? '09:00');
    setTz(current?.timezone ?? '');
  }, [JSON.stringify(current)]);

  const next = space.status.nextAutostartAt;
  if (space.role !== 'owner' && space.role !== 'admin') {
    return (
      <p class="autostart" data-autostart>
        {autostartText(current)}
        {next ? <span class="muted"> — next {when(next)}</span> : null}
      </p>
    );
  }

  const save = (value: Space['autostart']) => {
    setBusy(true);
    setErrors({});
    api()
      .setSpaceAutostart(space.id, value)
      .then(props.onSaved, (e: unknown) => {
        const f = fieldErrors(e);
        // an error without a field of its own (e.g. a refused session) still shows here
        setErrors(Object.keys(f).length ? f : { autostart: errorText(e) });
      })
      .finally(() => setBusy(false));
  };
  const toggle = (d: Day, on: boolean) => setDays((ds) => DAYS.map(([k]) => k).filter((k) => (k === d ? on : ds.includes(k))));
  const described = (path: string) => (errors[path] ? `${path.replace('.', '-')}-error` : undefined);
  const daysError = errors['autostart'] ?? errors['autostart.days'];

  return (
    <form
      class="autostart"
      data-autostart
      onSubmit={(e) => {
        e.preventDefault();
        save({ days, at, ...(tz.trim() ? { timezone: tz.trim() } : {}) });
      }}
    >
      <fieldset aria-describedby={daysError ? 'autostart-error' : undefined}>
        <legend>Days</legend>
        <div>
          {DAYS.map(([k, label]) => (
            <label key={k} class="inline">
              <input type="checkbox" checked={days.includes(k)} onChange={(e) => toggle(k, (e.target as HTMLInputElement).checked)} /> {label}
            </label>
          ))}
        </div>
        <FieldMessage id="autostart" message={daysError} />
      </fieldset>
      <div class="field">
        <label for="autostart-at">Time</label>
        <input id="autostart-at" type="time" required value={at} aria-invalid={errors['autostart.at'] ? true : undefined} aria-describedby={described('autostart.at')} onInput={(e) => setAt((e.target as HTMLInputElement).value)} />
        <FieldMessage id="autostart-at" message={errors['autostart.at']} />
      </div>
      <div class="field">
        <label for="autostart-timezone">Time zone</label>
        <input id="autostart-timezone" placeholder="owner's time zone" value={tz} aria-invalid={errors['autostart.timezone'] ? true : undefined} aria-describedby={described('autostart.timezone')} onInput={(e) => setTz((e.target as HTMLInputElement).value)} />
        <FieldMessage id="autostart-timezone" message={errors['autostart.timezone']} />
      </div>
      <p class="help" data-next-autostart>
        {current ? `${autostartText(current)}; next start ${when(next)}` : 'Off: the space starts only when someone starts it.'}
      </p>
      <div>
        <button type="submit" disabled={busy || days.length === 0}>
          Save auto-start
        </button>{' '}
        {current ? (
          <button type="button" disabled={busy} onClick={() => save(null)}>
            Turn off auto-start
          </button>
        ) : null}
      </div>
    </form>
  );
}
