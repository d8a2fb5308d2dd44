/** Admin → Webhooks: lifecycle webhook endpoints, their deliveries, redelivery and a test event. */
import { useEffect, useState } from 'preact/hooks';
import { WEBHOOK_EVENT_TYPES } from '../../../core/webhook-queue';
import { api, type Webhook, type WebhookDelivery } from '../api';
import { ErrorBanner, FieldMessage, ShownOnceDialog, fieldErrors } from '../components';
import { EmptyState } from '../empty-state';
import { when } from '../format';
import { AdminNav } from './admin';

function AddWebhookForm(props: { onAdded: (secret: string) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>([...WEBHOOK_EVENT_TYPES]);
  const [error, setError] = useState<unknown>(null);
  const fe = fieldErrors(error);
  const toggle = (t: string) => setEvents((es) => (es.includes(t) ? es.filter((e) => e !== t) : [...es, t]));
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        void api()
          .createWebhook({ url, description, events: events as never })
          .then((w) => {
            setUrl('');
            setDescription('');
            props.onAdded(w.secret);
          }, setError);
      }}
    >
      <h2>Add an endpoint</h2>
      <label>
        URL{' '}
        <input required class="wide" value={url} aria-invalid={fe.url ? 'true' : undefined} aria-describedby={fe.url ? 'wh-url-error' : undefined} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
      </label>
      <FieldMessage id="wh-url" message={fe.url} />
      <label>
        Description <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
      </label>
      <fieldset>
        <legend>Events</legend>
        {WEBHOOK_EVENT_TYPES.map((t) => (
          <label key={t}>
            <input type="checkbox" checked={events.includes(t)} onChange={() => toggle(t)} /> {t}
          </label>
        ))}
      </fieldset>
      <FieldMessage id="wh-events" message={fe.events} />
      <ErrorBanner error={fe.url || fe.events ? null : error} />
      <button type="submit" class="primary">
        Add
      </button>
    </form>
  );
}

function Deliveries(props: { webhook: Webhook }) {
  const [items, setItems] = useState<WebhookDelivery[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => void api().listWebhookDeliveries(props.webhook.id, { limit: 50 }).then((p) => setItems(p.items), setError);
  useEffect(load, [props.webhook.id]);
  const redeliver = (d: WebhookDelivery) => void api().redeliverWebhook(props.webhook.id, d.id).then(load, setError);
  return (
    <section aria-label={`Deliveries to ${props.webhook.url}`}>
      <h3>
        Deliveries <button type="button" onClick={load}>Refresh</button>
      </h3>
      <ErrorBanner error={error} />
      {items && items.length === 0 ? <EmptyState>No deliveries yet. Send a test event to see one.</EmptyState> : null}
      {items && items.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last response</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>{when(d.createdAt)}</td>
                <td>
                  {d.eventType} <span class="muted mono">{d.id}</span>
                </td>
                <td>{d.status}</td>
                <td>{d.attempts}</td>
                <td>
                  {d.lastResponse ? (
                    <>
                      {d.lastResponse.statusCode ?? '—'} {d.lastResponse.error ? <span class="muted">{d.lastResponse.error}</span> : null}
                      {d.lastResponse.body ? <pre class="mono muted">{d.lastResponse.body.slice(0, 200)}</pre> : null}
                    </>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {d.status !== 'pending' ? (
                    <button type="button" onClick={() => redeliver(d)}>
                      Redeliver
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

export function WebhooksPage() {
  const [items, setItems] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const reload = () => void api().listWebhooks().then((l) => setItems(l.items), setError);
  useEffect(reload, []);
  const act = (p: Promise<unknown>) => void p.then(reload, setError);
  return (
    <main id="main">
      <h1>Admin</h1>
      <AdminNav current="webhooks" />
      <h2>Webhooks</h2>
      <p class="muted">Lifecycle events are POSTed to each endpoint, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), retried for a day and more.</p>
      <ErrorBanner error={error} />
      {items && items.length === 0 ? <EmptyState>No webhooks yet. Add an endpoint below.</EmptyState> : null}
      {items && items.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr key={w.id}>
                <td>
                  <span class="mono">{w.url}</span> <span class="muted">{w.description}</span>
                </td>
                <td>{w.events.join(', ')}</td>
                <td>{w.enabled ? (w.failingSince ? `failing since ${when(w.failingSince)}` : 'enabled') : `disabled${w.disabledReason ? `: ${w.disabledReason}` : ''}`}</td>
                <td>
                  <button type="button" onClick={() => setOpen(open === w.id ? null : w.id)}>
                    Deliveries
                  </button>{' '}
                  <button type="button" disabled={!w.enabled} onClick={() => act(api().testWebhook(w.id).then(() => setOpen(w.id)))}>
                    Send test
                  </button>{' '}
                  <button type="button" onClick={() => act(api().updateWebhook(w.id, { enabled: !w.enabled }))}>
                    {w.enabled ? 'Disable' : 'Enable'}
                  </button>{' '}
                  <button type="button" class="danger" onClick={() => confirm(`Remove the webhook to ${w.url} and its deliveries?`) && act(api().deleteWebhook(w.id))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open && items?.find((w) => w.id === open) ? <Deliveries webhook={items.find((w) => w.id === open) as Webhook} /> : null}
      <AddWebhookForm
        onAdded={(s) => {
          setSecret(s);
          reload();
        }}
      />
      {secret ? (
        <ShownOnceDialog
          title="Signing secret"
          intro="Verify each request with this secret (Standard Webhooks). It is shown this once: copy it now."
          label="Signing secret"
          value={secret}
          onClose={() => setSecret(null)}
        />
      ) : null}
    </main>
  );
}
