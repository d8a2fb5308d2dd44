/** The caller's own account: sessions (revocable), password and SSH public keys. */
import { useContext, useEffect, useState } from 'preact/hooks';
import { api, type Session, type SshKey } from '../api';
import { Dialog, ErrorBanner, FieldMessage, fieldErrors } from '../components';
import { EmptyState } from '../empty-state';
import { when } from '../format';
import { SessionContext, useMe } from '../session';
import { QuotaUsageTable } from '../quota';

export function AccountPage() {
  const me = useMe();
  const session = useContext(SessionContext);
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [signOut, setSignOut] = useState<Session | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState('');
  const reload = () => void api().listSessions().then((l) => setSessions(l.items), setError);
  useEffect(reload, []);
  const fe = fieldErrors(error);
  return (
    <main id="main">
      <h1>Account</h1>
      <p>
        Signed in as <strong>{me.user.username}</strong> ({me.user.role}).
      </p>
      <h2>Quota</h2>
      <QuotaUsageTable user="me" />
      <h2>Sessions</h2>
      <ErrorBanner error={Object.keys(fe).length ? null : error} />
      {sessions && sessions.length === 0 ? (
        <EmptyState>No sign-in sessions: you are using an API token. Sessions appear here when you sign in with a password, each revocable.</EmptyState>
      ) : null}
      {sessions && sessions.length > 0 ? (
      <table>
        <thead>
          <tr>
            <th scope="col">Signed in</th>
            <th scope="col">With</th>
            <th scope="col">From</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id}>
              <td>
                {when(s.createdAt)} {s.current ? <span class="badge">this session</span> : null}
              </td>
              <td>{s.method}</td>
              <td>
                {s.ip} <span class="muted">{s.userAgent.slice(0, 60)}</span>
              </td>
              <td>{when(s.lastUsedAt)}</td>
              <td>
                <button type="button" aria-label={`Revoke session from ${when(s.createdAt)}`} onClick={() => (s.current ? setSignOut(s) : void api().revokeSession(s.id).then(reload, setError))}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      ) : null}
      {signOut ? (
        <Dialog title="Revoke this session?" onClose={() => setSignOut(null)} describedBy="sign-out-text">
          <p id="sign-out-text">This is the session you are using: revoking it signs you out of this browser.</p>
          <div class="dialog-buttons">
            <button type="button" onClick={() => setSignOut(null)}>
              Stay signed in
            </button>
            <button
              type="button"
              class="danger"
              onClick={() => {
                const id = signOut.id;
                setSignOut(null);
                void api()
                  .revokeSession(id)
                  .then(() => session?.refresh())
                  .catch(setError);
              }}
            >
              Revoke and sign out
            </button>
          </div>
        </Dialog>
      ) : null}
      <h2>Password</h2>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          setDone('');
          setError(null);
          void api()
            .setPassword(me.user.id, { password: next, ...(current ? { currentPassword: current } : {}) })
            .then(() => {
              setDone('Password changed; your other sessions were signed out.');
              setCurrent('');
              setNext('');
              reload();
            }, setError);
        }}
      >
        {me.user.hasPassword ? (
          <div class="field">
            <label for="cur-pw">Current password</label>
            <input id="cur-pw" type="password" autoComplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
            <FieldMessage id="cur-pw" message={fe.currentPassword} />
          </div>
        ) : null}
        <div class="field">
          <label for="next-pw">New password (at least 8 characters)</label>
          <input id="next-pw" type="password" autoComplete="new-password" value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
          <FieldMessage id="next-pw" message={fe.password} />
        </div>
        {done ? <p role="status" class="ok">{done}</p> : null}
        <button type="submit" class="primary">
          Set password
        </button>
      </form>
      <SshKeys />
    </main>
  );
}

/** The caller's SSH public keys: listed with Remove, and a form to add one (the server checks it). */
function SshKeys() {
  const [keys, setKeys] = useState<SshKey[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [publicKey, setPublicKey] = useState('');
  const [name, setName] = useState('');
  const [done, setDone] = useState('');
  const reload = () => void api().listSshKeys().then((l) => setKeys(l.items), setError);
  useEffect(reload, []);
  const fe = fieldErrors(error);
  const add = (e: Event) => {
    e.preventDefault();
    setDone('');
    setError(null);
    void api()
      .addSshKey({ publicKey, ...(name.trim() ? { name } : {}) })
      .then((k) => {
        setDone(`Added ${k.name} (${k.fingerprint}).`);
        setPublicKey('');
        setName('');
        reload();
      }, setError);
  };
  const remove = (k: SshKey) => {
    setDone('');
    setError(null);
    void api()
      .removeSshKey(k.id)
      .then(() => {
        setDone(`Removed ${k.name}.`);
        reload();
      }, setError);
  };
  return (
    <>
      <h2>SSH keys</h2>
      <p class="muted">Your spaces accept these keys for SSH.</p>
      <ErrorBanner error={Object.keys(fe).length ? null : error} />
      {keys.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Fingerprint</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>{k.type}</td>
                <td>
                  <code>{k.fingerprint}</code>
                </td>
                <td>{when(k.createdAt)}</td>
                <td>
                  <button type="button" aria-label={`Remove key ${k.name}`} onClick={() => remove(k)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <EmptyState>No SSH keys yet. Paste a public key below (e.g. the contents of <code>~/.ssh/id_ed25519.pub</code>) to reach your spaces with <code>knot ssh</code> or <code>ssh</code>.</EmptyState>
      )}
      <form class="form" aria-label="Add SSH key" onSubmit={add}>
        <div class="field">
          <label for="ssh-public-key">Public key</label>
          <textarea
            id="ssh-public-key"
            rows={4}
            spellcheck={false}
            autoComplete="off"
            placeholder="ssh-ed25519 AAAA… you@laptop (the contents of ~/.ssh/id_ed25519.pub)"
            value={publicKey}
            aria-invalid={fe.publicKey ? true : undefined}
            aria-describedby={fe.publicKey ? 'ssh-public-key-error' : undefined}
            onInput={(e) => setPublicKey((e.target as HTMLTextAreaElement).value)}
          />
          <FieldMessage id="ssh-public-key" message={fe.publicKey} />
        </div>
        <div class="field">
          <label for="ssh-key-name">Name</label>
          <input
            id="ssh-key-name"
            value={name}
            placeholder="optional: the key's comment otherwise"
            maxLength={100}
            aria-invalid={fe.name ? true : undefined}
            aria-describedby={fe.name ? 'ssh-key-name-error' : undefined}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
          <FieldMessage id="ssh-key-name" message={fe.name} />
        </div>
        {done ? (
          <p role="status" class="ok">
            {done}
          </p>
        ) : null}
        <button type="submit" class="primary">
          Add SSH key
        </button>
      </form>
    </>
  );
}
