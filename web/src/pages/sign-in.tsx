/** Sign-in: username + password, or an API token. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { errorText, fieldErrors } from '../components';

export function SignIn(props: { onSignedIn: () => Promise<void> }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api().login(mode === 'password' ? { username, password } : { token: token.trim() });
      await props.onSignedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const fe = fieldErrors(error);
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to knot</h1>
      <form onSubmit={submit} aria-describedby={error ? 'sign-in-error' : undefined}>
        <fieldset>
          <legend>Sign in with</legend>
          <label class="inline">
            <input type="radio" name="mode" checked={mode === 'password'} onChange={() => setMode('password')} /> Username and password
          </label>
          <label class="inline">
            <input type="radio" name="mode" checked={mode === 'token'} onChange={() => setMode('token')} /> API token
          </label>
        </fieldset>
        {mode === 'password' ? (
          <>
            <label for="username">Username</label>
            <input id="username" name="username" autoComplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          </>
        ) : (
          <>
            <label for="token">Token</label>
            <input id="token" name="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
          </>
        )}
        {error ? (
          <p id="sign-in-error" class="error-banner" role="alert">
            {fe.password ?? fe.token ?? errorText(error)}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="hint">First start: the admin token is printed by <code>knot dev</code> / <code>knot server</code>; a password can be set under Admin → Users.</p>
    </main>
  );
}
