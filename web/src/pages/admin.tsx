/** Admin: users, groups, tokens, template variables, the audit log. */
import { useEffect, useState } from 'preact/hooks';
import { api, type AuditList, type Group, type Token, type User, type Variable } from '../api';
import { Dialog, ErrorBanner, FieldMessage, ShownOnceDialog, fieldErrors } from '../components';
import { EmptyState } from '../empty-state';
import { when } from '../format';
import { useMe } from '../session';
import { QuotaEditor, QuotaUsageTable } from '../quota';

export function AdminNav(props: { current: string }) {
  const items: [string, string][] = [
    ['users', 'Users'],
    ['groups', 'Groups'],
    ['tokens', 'Tokens'],
    ['variables', 'Variables'],
    ['audit', 'Audit log'],
    ['webhooks', 'Webhooks'],
  ];
  return (
    <nav aria-label="Admin" class="subnav">
      {items.map(([k, l]) => (
        <a key={k} href={`/admin/${k}`} aria-current={props.current === k ? 'page' : undefined}>
          {l}
        </a>
      ))}
    </nav>
  );
}

function useList<T>(load: () => Promise<{ items: T[] }>): [T[] | null, () => void, unknown] {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = () => void load().then((l) => setItems(l.items), setError);
  useEffect(reload, []);
  return [items, reload, error];
}

function PasswordDialog(props: { user: User; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const fe = fieldErrors(error);
  return (
    <Dialog title={`Set password for ${props.user.username}`} onClose={props.onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await api().setPassword(props.user.id, { password });
            props.onClose();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label for="new-password">New password (at least 8 characters)</label>
        <input id="new-password" type="password" autoComplete="new-password" value={password} aria-describedby={fe.password ? 'new-password-error' : undefined} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        <FieldMessage id="new-password" message={fe.password} />
        {!fe.password ? <ErrorBanner error={error} /> : null}
        <div class="dialog-buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Set password
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function UsersPage() {
  const me = useMe();
  const [users, reload, loadError] = useList(() => api().listUsers());
  const [error, setError] = useState<unknown>(null);
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const [pwFor, setPwFor] = useState<User | null>(null);
  const [issued, setIssued] = useState<{ user: string; token: string } | null>(null);
  const fe = fieldErrors(error);
  const act = (p: Promise<unknown>) => p.then(reload, setError);
  // the server refuses demoting or deactivating yourself (self_lockout): say so before a click
  const own = (u: User) => (u.id === me.user.id ? { disabled: true, title: 'Your own account: ask another admin' } : {});
  return (
    <main id="main">
      <h1>Admin</h1>
      <AdminNav current="users" />
      <h2>Users</h2>
      <ErrorBanner error={loadError ?? (Object.keys(fe).length ? null : error)} />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          void api()
            .createUser({ username, email, role })
            .then(() => {
              setUsername('');
              setEmail('');
              reload();
            }, setError);
        }}
      >
        <div class="field">
          <label for="u-name">Username</label>
          <input id="u-name" value={username} aria-describedby={fe.username ? 'u-name-error' : undefined} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
          <FieldMessage id="u-name" message={fe.username} />
        </div>
        <div class="field">
          <label for="u-email">Email</label>
          <input id="u-email" type="email" value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
          <FieldMessage id="u-email" message={fe.email} />
        </div>
        <div class="field">
          <label for="u-role">Role</label>
          <select id="u-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as 'user')}>
            <option value="user">user</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <button type="submit" class="primary">
          Create user
        </button>
      </form>
      {users && users.length === 0 ? <EmptyState>No users yet. A user signs in with a password or an API token: create one above.</EmptyState> : null}
      {users && users.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Role</th>
              <th scope="col">Active</th>
              <th scope="col">Password</th>
              <th scope="col">Groups</th>
              <th scope="col">Quota</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.username}</th>
                <td>
                  <select aria-label={`Role of ${u.username}`} value={u.role} {...own(u)} onChange={(e) => act(api().updateUser(u.id, { role: (e.target as HTMLSelectElement).value as 'user' }))}>
                    <option value="user">user</option>
                    <option value="admin">admin</option>
                  </select>
                </td>
                <td>{u.active ? 'yes' : 'no'}</td>
                <td>{u.hasPassword ? 'set' : 'none'}</td>
                <td>{u.groups.join(', ') || '—'}</td>
                <td>
                  <details>
                    <summary>Quota and usage</summary>
                    <QuotaEditor label={u.username} quota={u.quota} onSave={(quota) => api().updateUser(u.id, { quota }).then(reload)} />
                    <QuotaUsageTable user={u.id} caption={`Usage of ${u.username}`} />
                  </details>
                </td>
                <td>
                  <div class="actions">
                  <button type="button" aria-label={`Set password for ${u.username}`} onClick={() => setPwFor(u)}>
                    Set password
                  </button>
                  <button type="button" aria-label={`Issue token for ${u.username}`} onClick={() => void api().createUserToken(u.id, { name: 'web' }).then((t) => setIssued({ user: u.username, token: t.token }), setError)}>
                    Issue token
                  </button>
                  <button type="button" aria-label={`${u.active ? 'Deactivate' : 'Activate'} ${u.username}`} {...own(u)} onClick={() => act(api().updateUser(u.id, { active: !u.active }))}>
                    {u.active ? 'Deactivate' : 'Activate'}
                  </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {pwFor ? <PasswordDialog user={pwFor} onClose={() => { setPwFor(null); reload(); }} /> : null}
      {issued ? (
        <ShownOnceDialog title={`Token for ${issued.user}`} intro="Shown once — copy it now:" label="New token" value={issued.token} onClose={() => setIssued(null)} />
      ) : null}
    </main>
  );
}

export function GroupsPage() {
  const [groups, reload, loadError] = useList(() => api().listGroups());
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [members, setMembers] = useState<Record<string, string>>({});
  const fe = fieldErrors(error);
  const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
  return (
    <main id="main">
      <h1>Admin</h1>
      <AdminNav current="groups" />
      <h2>Groups</h2>
      <ErrorBanner error={loadError ?? error} />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void api().createGroup({ name }).then(() => { setName(''); reload(); }, setError);
        }}
      >
        <div class="field">
          <label for="g-name">Group name</label>
          <input id="g-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <FieldMessage id="g-name" message={fe.name} />
        </div>
        <button type="submit" class="primary">
          Create group
        </button>
      </form>
      {groups && groups.length === 0 ? (
        <EmptyState>No groups yet. A group decides who may use a template: create one above, list its members, then name it in a template's Groups.</EmptyState>
      ) : null}
      {(groups ?? []).map((g: Group) => (
        <form
          key={g.id}
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void api().updateGroup(g.name, { members: list(members[g.name] ?? g.members.join(', ')) }).then(reload, setError);
          }}
        >
          <div class="field">
            <label for={`m-${g.name}`}>Members of {g.name} (usernames, comma-separated)</label>
            <input id={`m-${g.name}`} class="wide" value={members[g.name] ?? g.members.join(', ')} onInput={(e) => setMembers((m) => ({ ...m, [g.name]: (e.target as HTMLInputElement).value }))} />
          </div>
          <button type="submit" aria-label={`Save members of ${g.name}`}>
            Save
          </button>
          <button type="button" class="danger" aria-label={`Delete group ${g.name}`} onClick={() => void api().deleteGroup(g.name).then(reload, setError)}>
            Delete
          </button>
        </form>
      ))}
      {(groups ?? []).length > 0 ? <h3>Group quotas (a member without their own limit gets the most generous of their groups')</h3> : null}
      {(groups ?? []).map((g: Group) => (
        <QuotaEditor key={g.id} label={`group ${g.name}`} quota={g.quota} onSave={(quota) => api().updateGroup(g.name, { quota }).then(reload)} />
      ))}
    </main>
  );
}

export function TokensPage() {
  const [tokens, reload, loadError] = useList(() => api().listTokens());
  const [name, setName] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <main id="main">
      <h1>Admin</h1>
      <AdminNav current="tokens" />
      <h2>Your API tokens</h2>
      <ErrorBanner error={loadError ?? error} />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void api().createToken({ name }).then((t) => { setSecret(t.token); setName(''); reload(); }, setError);
        }}
      >
        <div class="field">
          <label for="tok-name">Token name</label>
          <input id="tok-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="primary">
          Create token
        </button>
      </form>
      {secret ? (
        <p role="status">
          New token (shown once): <input aria-label="New token" readOnly value={secret} class="mono wide" />
        </p>
      ) : null}
      {tokens && tokens.length === 0 ? (
        <EmptyState>No API tokens yet. A token lets the knot CLI and scripts act as you (<code>knot login --token</code>): create one above.</EmptyState>
      ) : null}
      {tokens && tokens.length > 0 ? (
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t: Token) => (
            <tr key={t.id}>
              <th scope="row">{t.name}</th>
              <td class="mono">{t.prefix}…</td>
              <td>{when(t.createdAt)}</td>
              <td>{when(t.lastUsedAt)}</td>
              <td>{t.revokedAt ? 'revoked' : 'active'}</td>
              <td>
                {!t.revokedAt ? (
                  <button type="button" aria-label={`Revoke token ${t.name}`} onClick={() => void api().revokeToken(t.id).then(reload, setError)}>
                    Revoke
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      ) : null}
    </main>
  );
}

export function VariablesPage() {
  const [vars, reload, loadError] = useList(() => api().listVariables());
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [prot, setProt] = useState(false);
  const [edit, setEdit] = useState<Record<string, string>>({});
  const fe = fieldErrors(error);
  return (
    <main id="main">
      <h1>Admin</h1>
      <AdminNav current="variables" />
      <h2>Template variables</h2>
      <ErrorBanner error={loadError ?? (Object.keys(fe).length ? null : error)} />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void api().createVariable({ name, value, protected: prot }).then(() => { setName(''); setValue(''); setProt(false); reload(); }, setError);
        }}
      >
        <div class="field">
          <label for="v-name">Name</label>
          <input id="v-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <FieldMessage id="v-name" message={fe.name} />
        </div>
        <div class="field">
          <label for="v-value">Value</label>
          <input id="v-value" type={(prot ? 'password' : 'text') as 'text'} autoComplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </div>
        <label class="inline">
          <input type="checkbox" checked={prot} onChange={(e) => setProt((e.target as HTMLInputElement).checked)} /> Protected (encrypted, never shown)
        </label>
        <button type="submit" class="primary">
          Add variable
        </button>
      </form>
      {vars && vars.length === 0 ? (
        <EmptyState>
          No template variables yet. A variable is a value templates use as <code>{'${{ .var.NAME }}'}</code> (protected ones are encrypted and never shown): add one above.
        </EmptyState>
      ) : null}
      {vars && vars.length > 0 ? (
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {vars.map((v: Variable) => (
            <tr key={v.id}>
              <th scope="row">{v.name}</th>
              <td>
                <input
                  aria-label={`New value of ${v.name}`}
                  type={(v.protected ? 'password' : 'text') as 'text'}
                  autoComplete="off"
                  placeholder={v.protected ? 'protected: enter a new value to replace it' : ''}
                  value={edit[v.name] ?? (v.protected ? '' : (v.value ?? ''))}
                  onInput={(e) => setEdit((m) => ({ ...m, [v.name]: (e.target as HTMLInputElement).value }))}
                />
              </td>
              <td>
                  <div class="actions">
                <button type="button" aria-label={`Save ${v.name}`} disabled={edit[v.name] === undefined} onClick={() => void api().updateVariable(v.name, { value: edit[v.name] ?? '' }).then(() => { setEdit((m) => { const n = { ...m }; delete n[v.name]; return n; }); reload(); }, setError)}>
                  Save
                </button>
                <button type="button" class="danger" aria-label={`Delete ${v.name}`} onClick={() => void api().deleteVariable(v.name).then(reload, setError)}>
                  Delete
                </button>
                  </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      ) : null}
    </main>
  );
}

export function AuditPage() {
  const [filters, setFilters] = useState({ actor: '', action: '', resourceType: '', outcome: '' });
  const [page, setPage] = useState<AuditList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    const q = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '')) as Record<string, string>;
    void api().listAudit({ ...q, limit: 100 } as never).then(setPage, setError);
  };
  useEffect(load, []);
  const field = (k: keyof typeof filters, label: string) => (
    <label>
      {label} <input value={filters[k]} onInput={(e) => setFilters((f) => ({ ...f, [k]: (e.target as HTMLInputElement).value }))} />
    </label>
  );
  return (
    <main id="main">
      <h1>Admin</h1>
      <AdminNav current="audit" />
      <h2>Audit log</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          load();
        }}
      >
        {field('actor', 'Actor')}
        {field('action', 'Action')}
        {field('resourceType', 'Resource type')}
        <label>
          Outcome
          <select value={filters.outcome} onChange={(e) => setFilters((f) => ({ ...f, outcome: (e.target as HTMLSelectElement).value }))}>
            <option value="">All</option>
            <option value="ok">ok</option>
            <option value="refused">refused</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBanner error={error} />
      {page && page.items.length === 0 ? (
        <EmptyState>
          {Object.values(filters).some((v) => v !== '')
            ? 'No audit entries match these filters. Clear a filter and press Filter to see more.'
            : 'No audit entries yet. Every change, sign-in and refused request is recorded here.'}
        </EmptyState>
      ) : null}
      {page && page.items.length > 0 ? (
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Resource</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((a) => (
            <tr key={a.id}>
              <td>{when(a.at)}</td>
              <td>{a.actor}</td>
              <td>{a.action}</td>
              <td>
                {a.resourceType} <span class="muted mono">{a.resourceId ?? ''}</span>
              </td>
              <td>{a.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>
      ) : null}
    </main>
  );
}
