/** The shell: who is signed in, navigation, the live-stream indicator, and the page for the path. */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, isKnotApiError, type Whoami } from './api';
import { startLive, stopLive, onConnection } from './live';
import { interceptLinks, match, navigate, usePath } from './router';
import { SessionContext } from './session';
import { AccountPage } from './pages/account';
import { AuditPage, GroupsPage, TokensPage, UsersPage, VariablesPage } from './pages/admin';
import { WebhooksPage } from './pages/admin-webhooks';
import { CreateSpacePage } from './pages/create-space';
import { SignIn } from './pages/sign-in';
import { SpacePage } from './pages/space';
import { SpacesPage } from './pages/spaces';
import { TemplateEditPage } from './pages/template-edit';
import { TemplatesPage } from './pages/templates';

function Page(props: { path: string; me: Whoami }) {
  const { path, me } = props;
  let m: Record<string, string> | null;
  if (path === '/' || path === '/spaces') return <SpacesPage />;
  if (path === '/spaces/new') return <CreateSpacePage />;
  if ((m = match('/spaces/:id', path))) return <SpacePage id={m.id!} />;
  if (path === '/account') return <AccountPage />;
  if (me.isAdmin) {
    if (path === '/templates') return <TemplatesPage />;
    if (path === '/templates/new') return <TemplateEditPage name={null} />;
    if ((m = match('/templates/:name', path))) return <TemplateEditPage name={m.name!} />;
    if (path === '/admin' || path === '/admin/users') return <UsersPage />;
    if (path === '/admin/groups') return <GroupsPage />;
    if (path === '/admin/tokens') return <TokensPage />;
    if (path === '/admin/variables') return <VariablesPage />;
    if (path === '/admin/audit') return <AuditPage />;
    if (path === '/admin/webhooks') return <WebhooksPage />;
  }
  return (
    <main id="main">
      <h1>Not found</h1>
      <p>
        Nothing here. <a href="/">Go to Spaces</a>
      </p>
    </main>
  );
}

type TerminalPageType = ComponentType<{ id: string }>;

/** The terminal page, fetched on first use: xterm stays out of the first load. */
function LazyTerminalPage(props: { id: string }) {
  const [page, setPage] = useState<{ Page: TerminalPageType } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    import('./pages/terminal').then((m) => setPage({ Page: m.TerminalPage }), setError);
  }, []);
  if (page) return <page.Page id={props.id} />;
  return (
    <main id="main">
      <h1>Terminal</h1>
      <p role="status">{error ? `Could not load the terminal: ${(error as Error).message ?? String(error)}. Reload to try again.` : 'Loading…'}</p>
    </main>
  );
}

function LiveIndicator() {
  const [up, setUp] = useState(false);
  useEffect(() => onConnection(setUp), []);
  return (
    <span class={`live ${up ? 'live-up' : 'live-down'}`} role="status">
      {up ? 'Live' : 'Connecting…'}
    </span>
  );
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Whoami | null | undefined>(undefined);

  async function refresh() {
    try {
      setMe(await api().whoami());
    } catch (e) {
      if (isKnotApiError(e) && e.status === 401) setMe(null);
      else throw e;
    }
  }
  useEffect(() => {
    void refresh();
  }, []);
  useEffect(() => {
    if (me) startLive();
    else stopLive();
  }, [me?.user.id]);
  useEffect(() => {
    document.title = `${titleOf(path)} · knot`;
  }, [path]);

  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null) {
    return (
      <SignIn
        onSignedIn={async () => {
          await refresh();
          if (path === '/sign-in') navigate('/', true);
        }}
      />
    );
  }
  // the terminal fills its own window: no header, no navigation
  const terminal = match('/spaces/:id/terminal', path);
  if (terminal) {
    return (
      <SessionContext.Provider value={{ me, refresh }}>
        <LazyTerminalPage id={terminal.id!} />
      </SessionContext.Provider>
    );
  }
  const section = path.startsWith('/templates') ? 'templates' : path.startsWith('/admin') ? 'admin' : path.startsWith('/account') ? 'account' : 'spaces';
  return (
    <SessionContext.Provider value={{ me, refresh }}>
      <div onClick={interceptLinks}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            knot
          </a>
          <nav aria-label="Main">
            <a href="/" aria-current={section === 'spaces' ? 'page' : undefined}>
              Spaces
            </a>
            {me.isAdmin ? (
              <>
                <a href="/templates" aria-current={section === 'templates' ? 'page' : undefined}>
                  Templates
                </a>
                <a href="/admin/users" aria-current={section === 'admin' ? 'page' : undefined}>
                  Admin
                </a>
              </>
            ) : null}
          </nav>
          <LiveIndicator />
          <a href="/account" class="user" aria-current={section === 'account' ? 'page' : undefined}>
            {me.user.username}
          </a>
          <button
            type="button"
            onClick={async () => {
              await api().logout().catch(() => undefined);
              stopLive();
              setMe(null);
              navigate('/', true);
            }}
          >
            Sign out
          </button>
        </header>
        <Page path={path} me={me} />
      </div>
    </SessionContext.Provider>
  );
}

function titleOf(path: string): string {
  if (path.startsWith('/spaces/new')) return 'Create Space';
  if (match('/spaces/:id/terminal', path)) return 'Terminal';
  if (path.startsWith('/spaces/')) return 'Space';
  if (path.startsWith('/templates')) return 'Templates';
  if (path.startsWith('/admin')) return 'Admin';
  if (path.startsWith('/account')) return 'Account';
  return 'Spaces';
}
