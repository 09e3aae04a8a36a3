// The agent helpdesk: sign-in, the workspace shell (navigation by permission), and its pages.
import { lazy, StrictMode, Suspense, useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, gql, request } from '../api/client';
import { Link, navigate, useLocation } from '../lib/router';
import { useStoredToken } from '../lib/token';
import { ChooseWorkspace, useSignIn } from '../lib/signin';
import { ErrorText } from '../lib/ui';
import { boot, SessionContext, type Session } from './session';
import { prefetchTickets, TicketsPage } from './Tickets';
import { TicketDetail } from './TicketDetail';
import { StaffQueue } from './StaffQueue';
import { useKeyboard } from './keyboard';
import '../styles.css';

// Admin pages, the dashboard and the create form are separate chunks: most agents never
// open the admin pages, and the ticket list must load fast.
const AdminPage = lazy(() => import('./admin/Admin'));
const NewTicket = lazy(() => import('./NewTicket'));
const Dashboard = lazy(() => import('./Dashboard'));
const Review = lazy(() => import('./Review'));
const Knowledge = lazy(() => import('./Knowledge'));
const Playground = lazy(() => import('./Playground'));
const BackgroundJobs = lazy(() => import('./BackgroundJobs'));
const Insights = lazy(() => import('./Insights'));
const Account = lazy(() => import('../lib/Account').then((m) => ({ default: m.Account })));

const TOKEN_KEY = 'switchboard.agent.token';

const LOGIN = gql`
  mutation Login($email: String!, $password: String!, $workspace: String) {
    login(email: $email, password: $password, workspace: $workspace) { token }
  }
`;

function Login({ onToken }: { onToken: (t: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { error, busy, choices, setChoices, signIn } = useSignIn(async (workspace) => {
    const d = await request<{ login: { token: string } }>(null, LOGIN, { email, password, workspace });
    onToken(d.login.token);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void signIn(null);
  };
  return (
    <div className="center">
      <form className="panel form login" onSubmit={submit} aria-label="Sign in">
        <h1>Switchboard helpdesk</h1>
        <label>
          Email
          <input type="email" autoComplete="username" required value={email} onChange={(e) => { setEmail(e.target.value); setChoices(null); }} autoFocus />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => { setPassword(e.target.value); setChoices(null); }} />
        </label>
        <ErrorText error={error} />
        {choices ? (
          <ChooseWorkspace choices={choices} busy={busy} onChoose={(slug) => void signIn(slug)} onBack={() => setChoices(null)} />
        ) : (
          <button className="primary" disabled={busy}>Sign in</button>
        )}
        <p className="muted">Customers sign in to <a href="/portal">My Tickets</a>.</p>
      </form>
    </div>
  );
}

function NavLink({ href, label, path }: { href: string; label: string; path: string }) {
  const active =
    href === '/'
      ? path === '/' || (path.startsWith('/tickets') && path !== '/tickets/new')
      : href === '/knowledge'
        ? path === href
        : path.startsWith(href);
  return (
    <Link href={href} className={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>
      {label}
    </Link>
  );
}

function Shell({ session }: { session: Session }) {
  const { path, search } = useLocation();
  useKeyboard();
  let page;
  const ticket = path.match(/^\/tickets\/([^/]+)$/);
  if (path === '/' || path === '/tickets') page = <TicketsPage key="tickets" search={search} />;
  else if (path === '/tickets/new') page = <NewTicket />;
  else if (ticket) page = <TicketDetail key={ticket[1]} number={decodeURIComponent(ticket[1])} />;
  else if (path === '/queue') page = <StaffQueue search={search} />;
  else if (path === '/sla') page = <Dashboard />;
  else if (path === '/review') page = <Review />;
  else if (path === '/knowledge') page = <Knowledge />;
  else if (path === '/knowledge/playground') page = <Playground />;
  else if (path === '/knowledge/jobs') page = <BackgroundJobs />;
  else if (path === '/insights') page = <Insights />;
  else if (path === '/account') {
    const signedOut = () => {
      session.signOut();
      navigate('/', true);
    };
    page = <Account token={session.token} onToken={session.replaceToken} onSignedOut={signedOut} />;
  }
  else if (path.startsWith('/admin')) page = session.can('admin') ? <AdminPage path={path} /> : <p>Admins only.</p>;
  else page = <p>Page not found. <Link href="/">Back to tickets</Link></p>;
  return (
    <div className="layout">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">{session.me.workspace.name}</div>
        <NavLink href="/" label="Tickets" path={path} />
        <NavLink href="/queue" label="Staff queue" path={path} />
        {session.can('manage') && <NavLink href="/tickets/new" label="New ticket" path={path} />}
        <NavLink href="/sla" label="SLA dashboard" path={path} />
        {session.can('reassign') && <NavLink href="/insights" label="Insights" path={path} />}
        <NavLink href="/review" label="Quality review" path={path} />
        <NavLink href="/knowledge" label="Knowledge" path={path} />
        <NavLink href="/knowledge/jobs" label="Background jobs" path={path} />
        {session.can('admin') && (
          <>
            <div className="section">Admin</div>
            <NavLink href="/admin/queues" label="Queues" path={path} />
            <NavLink href="/admin/routing" label="Routing rules" path={path} />
            <NavLink href="/admin/topics" label="Help topics" path={path} />
            <NavLink href="/admin/canned" label="Canned responses" path={path} />
            <NavLink href="/admin/sla" label="SLA policies" path={path} />
            <NavLink href="/admin/automation" label="Automation rules" path={path} />
            <NavLink href="/admin/macros" label="Suggested macros" path={path} />
            <NavLink href="/admin/alerts" label="Alerts & follow-ups" path={path} />
            <NavLink href="/admin/discord" label="Discord" path={path} />
            <NavLink href="/admin/webhooks" label="Webhooks" path={path} />
            <NavLink href="/admin/tokens" label="API tokens" path={path} />
            <NavLink href="/admin/team" label="Team members" path={path} />
          </>
        )}
        <div className="who">
          Signed in as <strong>{session.me.name}</strong>
          <br />
          <Link href="/account" aria-current={path === '/account' ? 'page' : undefined}>Your account</Link>
          <br />
          <button type="button" onClick={session.signOut} style={{ marginTop: 6 }}>Sign out</button>
        </div>
      </nav>
      <main>
        <Suspense fallback={<p className="muted">Loading…</p>}>{page}</Suspense>
      </main>
    </div>
  );
}

const ME_PERMS: Record<string, string> = {
  view: 'service-desk.view',
  manage: 'service-desk.manage',
  reassign: 'service-desk.reassign',
  admin: 'service-desk.admin',
};

function App() {
  const { token, signIn: replaceToken, signOut } = useStoredToken(TOKEN_KEY);
  const [data, setData] = useState<Awaited<ReturnType<typeof boot>> | null>(null);
  const [error, setError] = useState<unknown>(null);
  // However the session ends (here, or refused by the server), its workspace data goes with it.
  useEffect(() => {
    if (!token) setData(null);
  }, [token]);
  const load = useCallback(async () => {
    if (!token) return;
    try {
      setData(await boot(token));
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'UNAUTHENTICATED')) setError(e);
    }
  }, [token]);
  useEffect(() => {
    void load();
  }, [load]);
  const session = useMemo<Session | null>(
    () =>
      token && data
        ? { token, ...data, can: (p) => data.me.permissions.includes(ME_PERMS[p]), signOut, replaceToken, reload: load }
        : null,
    [token, data, signOut, replaceToken, load],
  );
  if (!token)
    return (
      <Login
        onToken={(t) => {
          if (location.pathname === '/' || location.pathname === '/tickets') prefetchTickets(t, new URLSearchParams(location.search));
          replaceToken(t);
          if (location.pathname === '/login') navigate('/', true);
        }}
      />
    );
  if (error) return <ErrorText error={error} />;
  if (!session) return <p className="muted" style={{ padding: 20 }}>Loading…</p>;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
