/** The caller's own account: sessions (revocable) and password. */
import { useEffect, useState } from 'preact/hooks';
import { api, type Session } from '../api';
import { ErrorBanner, FieldMessage, fieldErrors } from '../components';
import { when } from '../format';
import { useMe } from '../session';

export function AccountPage() {
  const me = useMe();
  const [sessions, setSessions] = useState<Session[]>([]);
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
      <h2>Sessions</h2>
      <ErrorBanner error={Object.keys(fe).length ? null : error} />
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
                <button type="button" aria-label={`Revoke session from ${when(s.createdAt)}`} onClick={() => void api().revokeSession(s.id).then(reload, setError)}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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
    </main>
  );
}
