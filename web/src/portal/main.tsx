// The customer portal ("My Tickets"): sign in, the customer's own tickets, the public thread
// with a reply box, a new-ticket form suggesting help center articles, and the help center
// (HelpCenter.tsx). It only asks for customer fields (myTickets, myTicket, PublicEntry, the help
// center's): internal notes and staff internals are never requested.
import { StrictMode, useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, downloadAttachment, gql, request, upload } from '../api/client';
import type { HelpTopic, MyTicket, PublicEntry } from '../api/schema';
import { Account } from '../lib/Account';
import { ChooseWorkspace, useSignIn } from '../lib/signin';
import { formatDate } from '../lib/format';
import { Link, navigate, useLocation } from '../lib/router';
import { useLiveTickets } from '../lib/live';
import { useStoredToken } from '../lib/token';
import { ErrorText, StatusBadge } from '../lib/ui';
import '../styles.css';
import { ArticlePage, HelpCenter, Suggestions } from './HelpCenter';

const TOKEN_KEY = 'switchboard.customer.token';
const BASE = '/portal';

const LOGIN = gql`
  mutation CustomerLogin($email: String!, $password: String!, $workspace: String) {
    customerLogin(email: $email, password: $password, workspace: $workspace) { token contact { name } }
  }
`;
const REQUEST_LINK = gql`
  mutation RequestSignInLink($email: String!) { requestCustomerSignInLink(email: $email) }
`;
const LINK_SIGN_IN = gql`
  mutation SignInWithLink($token: String!) {
    customerSignInWithLink(token: $token) { token contact { name } }
  }
`;
const MY_TICKETS = gql`
  query MyTickets($after: String) {
    myTickets(first: 50, after: $after) {
      totalCount
      pageInfo { endCursor hasNextPage }
      nodes { id number subject status helpTopic createdAt updatedAt }
    }
  }
`;
const MY_TICKET = gql`
  query MyTicket($number: String!) {
    myTicket(number: $number) {
      id number subject status helpTopic createdAt updatedAt resolvedAt closedAt csatRating
      entries { id body fromMe authorName createdAt attachments { id fileName sizeBytes url } }
    }
  }
`;
const REPLY = gql`
  mutation ReplyToMyTicket($ticketId: ID!, $body: String!, $attachments: [Upload!]) {
    replyToMyTicket(ticketId: $ticketId, body: $body, attachments: $attachments) { id }
  }
`;
const CREATE = gql`
  mutation CreateMyTicket($subject: String!, $description: String!, $helpTopicId: ID, $attachments: [Upload!]) {
    createMyTicket(subject: $subject, description: $description, helpTopicId: $helpTopicId, attachments: $attachments) { number }
  }
`;
const RATE = gql`
  mutation RateMyTicket($ticketId: ID!, $rating: Int!, $comment: String) {
    rateMyTicket(ticketId: $ticketId, rating: $rating, comment: $comment) { id csatRating }
  }
`;
const REQUEST_HUMAN = gql`mutation RequestHuman($ticketId: ID!) { requestHuman(ticketId: $ticketId) { id } }`;
const TOPICS = gql`query PortalTopics { helpTopics { id name } }`;
const EVENTS = gql`subscription MyTicketEvents { ticketEvents { kind ticketId } }`;

type Row = Pick<MyTicket, 'id' | 'number' | 'subject' | 'status' | 'helpTopic' | 'createdAt' | 'updatedAt'>;
type Detail = Row & Pick<MyTicket, 'resolvedAt' | 'closedAt' | 'csatRating'> & {
  entries: (Pick<PublicEntry, 'id' | 'body' | 'fromMe' | 'authorName' | 'createdAt'> & { attachments: { id: string; fileName: string; sizeBytes: number; url: string }[] })[];
};

function Login({ onToken }: { onToken: (t: string) => void }) {
  const [mode, setMode] = useState<'password' | 'link'>(() => (new URLSearchParams(location.search).get('signin') === 'link' ? 'link' : 'password'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { error, setError, busy, choices, setChoices, signIn } = useSignIn(async (workspace) => {
    if (mode === 'link') {
      await request(null, REQUEST_LINK, { email });
      setSentTo(email);
      return;
    }
    const d = await request<{ customerLogin: { token: string } }>(null, LOGIN, { email, password, workspace });
    onToken(d.customerLogin.token);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void signIn(null);
  };
  const switchTo = (m: 'password' | 'link') => {
    setMode(m);
    setSentTo(null);
    setError(null);
    setChoices(null);
  };
  return (
    <div className="center">
      <form className="panel form login" onSubmit={submit} aria-label="Sign in to My Tickets">
        <h1>My Tickets</h1>
        <p className="muted">Sign in to follow your support requests.</p>
        <label>Email<input type="email" autoComplete="username" required value={email} onChange={(e) => { setEmail(e.target.value); setChoices(null); }} autoFocus /></label>
        {mode === 'password' ? (
          <>
            <label>Password<input type="password" autoComplete="current-password" required value={password} onChange={(e) => { setPassword(e.target.value); setChoices(null); }} /></label>
            <ErrorText error={error} />
            {choices ? (
              <ChooseWorkspace choices={choices} busy={busy} onChoose={(slug) => void signIn(slug)} onBack={() => setChoices(null)} />
            ) : (
              <button className="primary" disabled={busy}>Sign in</button>
            )}
            <button type="button" className="link" onClick={() => switchTo('link')}>No password? Email me a sign-in link</button>
          </>
        ) : (
          <>
            {sentTo ? (
              <p role="status" className="notice">
                If {sentTo} belongs to a customer of ours, a sign-in link is on its way. It works once, within 15 minutes.
              </p>
            ) : (
              <p className="muted">We will email you a link that signs you in without a password.</p>
            )}
            <ErrorText error={error} />
            <button className="primary">{sentTo ? 'Send another link' : 'Email me a sign-in link'}</button>
            <button type="button" className="link" onClick={() => switchTo('password')}>Sign in with a password instead</button>
          </>
        )}
      </form>
    </div>
  );
}

/** `/portal/sign-in#<token>`, the address in a sign-in link email: trades the token for a session. */
function LinkSignIn({ onToken }: { onToken: (t: string) => void }) {
  const [error, setError] = useState<unknown>(null);
  // A link works once: never spend it twice, even if the effect runs again.
  const spent = useRef(false);
  useEffect(() => {
    if (spent.current) return;
    spent.current = true;
    const token = decodeURIComponent(location.hash.slice(1));
    // The token leaves the address bar (and the history) before anything else happens.
    history.replaceState(null, '', `${BASE}/sign-in`);
    request<{ customerSignInWithLink: { token: string } }>(null, LINK_SIGN_IN, { token }).then(
      (d) => {
        onToken(d.customerSignInWithLink.token);
        navigate(`${BASE}/`, true);
      },
      (err) => setError(err instanceof ApiError && err.code === 'UNAUTHENTICATED' ? 'This sign-in link no longer works: it was already used, it expired, or it was copied incompletely.' : err),
    );
  }, [onToken]);
  return (
    <div className="center">
      <div className="panel form login">
        <h1>My Tickets</h1>
        {error ? (
          <>
            <ErrorText error={error} />
            <Link href={`${BASE}/?signin=link`} className="button">Ask for a new link</Link>
          </>
        ) : (
          <p className="muted" role="status">Signing you in…</p>
        )}
      </div>
    </div>
  );
}

function List({ token }: { token: string }) {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    request<{ myTickets: { nodes: Row[] } }>(token, MY_TICKETS).then((d) => setRows(d.myTickets.nodes), setError);
  }, [token]);
  useEffect(load, [load]);
  useLiveTickets(token, EVENTS, load);
  return (
    <section aria-labelledby="mine-title">
      <div className="row spread">
        <h1 id="mine-title">My tickets</h1>
        <Link href={`${BASE}/new`} className="button">New ticket</Link>
      </div>
      <ErrorText error={error} />
      {!rows ? (
        <p className="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="panel">You have no tickets yet. <Link href={`${BASE}/new`}>Ask for help</Link>.</p>
      ) : (
        <table>
          <thead><tr><th>Number</th><th>Subject</th><th>Status</th><th>Last update</th></tr></thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.id} data-testid="my-ticket" data-number={t.number}>
                <td>{t.number}</td>
                <td><Link href={`${BASE}/tickets/${t.number}`} data-list-item>{t.subject}</Link></td>
                <td><StatusBadge status={t.status} /></td>
                <td>{formatDate(t.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TicketView({ token, number }: { token: string; number: string }) {
  const [t, setT] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [body, setBody] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [sendError, setSendError] = useState<unknown>(null);
  const [asked, setAsked] = useState(false);
  const load = useCallback(() => {
    request<{ myTicket: Detail }>(token, MY_TICKET, { number }).then((d) => setT(d.myTicket), setError);
  }, [token, number]);
  useEffect(load, [load]);
  useLiveTickets(token, EVENTS, (ev) => (ev.ticketId === null || ev.ticketId === t?.id) && load());
  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!t || !body.trim()) return;
    try {
      await upload(token, REPLY, { ticketId: t.id, body }, files);
      setBody('');
      setFiles([]);
      setSendError(null);
      load();
    } catch (err) {
      setSendError(err);
    }
  };
  if (error) return <ErrorText error={error} />;
  if (!t) return <p className="muted">Loading…</p>;
  return (
    <section aria-labelledby="ticket-title">
      <p><Link href={`${BASE}/`}>← My tickets</Link></p>
      <div className="muted">{t.number}{t.helpTopic && ` · ${t.helpTopic}`}</div>
      <h1 id="ticket-title">{t.subject}</h1>
      <p className="row"><StatusBadge status={t.status} /> <span className="muted">Opened {formatDate(t.createdAt)}</span></p>
      <div className="thread" aria-label="Conversation">
        {t.entries.map((e) => (
          <article key={e.id} className={`entry ${e.fromMe ? 'customer' : 'reply'}`} data-testid="entry">
            <div className="meta"><strong>{e.fromMe ? 'You' : e.authorName ?? 'Support'}</strong><span>{formatDate(e.createdAt)}</span></div>
            <div className="body">{e.body}</div>
            {e.attachments.map((a) => (
              <div key={a.id}><button type="button" onClick={() => void downloadAttachment(token, a.url, a.fileName)}>{a.fileName}</button></div>
            ))}
          </article>
        ))}
      </div>
      {(t.status === 'RESOLVED' || t.status === 'CLOSED') && (
        <div className="panel" style={{ marginTop: 12 }} role="group" aria-label="Rate this ticket">
          {t.csatRating ? (
            <p>You rated this ticket {t.csatRating} of 5. Thank you!</p>
          ) : (
            <div className="row">
              How did we do?
              {[1, 2, 3, 4, 5].map((n) => (
                <button key={n} type="button" aria-label={`Rate ${n} of 5`} onClick={() => void request(token, RATE, { ticketId: t.id, rating: n }).then(load, setSendError)}>
                  {n}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
      {t.status !== 'CLOSED' && (
        <form className="panel form" style={{ marginTop: 12 }} onSubmit={send} aria-label="Reply">
          <label>Your reply<textarea data-shortcut="reply" value={body} onChange={(e) => setBody(e.target.value)} /></label>
          <label>Attachments<input type="file" multiple onChange={(e) => setFiles(Array.from(e.target.files ?? []))} /></label>
          <ErrorText error={sendError} />
          <div className="row">
            <button className="primary" disabled={!body.trim()}>Send reply</button>
            {t.status !== 'RESOLVED' && (
              <button type="button" onClick={() => void request(token, REQUEST_HUMAN, { ticketId: t.id }).then(() => { setAsked(true); load(); }, setSendError)} disabled={asked}>
                {asked ? 'A person will reply' : 'Request human'}
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}

function NewTicket({ token }: { token: string }) {
  const [topics, setTopics] = useState<Pick<HelpTopic, 'id' | 'name'>[]>([]);
  const [f, setF] = useState({ subject: '', description: '', helpTopicId: '' });
  const [files, setFiles] = useState<File[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    request<{ helpTopics: Pick<HelpTopic, 'id' | 'name'>[] }>(token, TOPICS).then((d) => setTopics(d.helpTopics), () => {});
  }, [token]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const d = await upload<{ createMyTicket: { number: string } }>(token, CREATE, { ...f, helpTopicId: f.helpTopicId || null }, files);
      navigate(`${BASE}/tickets/${d.createMyTicket.number}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="panel form" onSubmit={submit} aria-labelledby="new-title">
      <h1 id="new-title">New ticket</h1>
      <label>Subject<input required value={f.subject} onChange={(e) => setF({ ...f, subject: e.target.value })} /></label>
      <Suggestions token={token} subject={f.subject} />
      <label>Topic<select value={f.helpTopicId} onChange={(e) => setF({ ...f, helpTopicId: e.target.value })}><option value="">Not sure</option>{topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}</select></label>
      <label>Describe the problem<textarea required value={f.description} onChange={(e) => setF({ ...f, description: e.target.value })} /></label>
      <label>Attachments<input type="file" multiple onChange={(e) => setFiles(Array.from(e.target.files ?? []))} /></label>
      <ErrorText error={error} />
      <div><button className="primary">Submit ticket</button></div>
    </form>
  );
}

function App() {
  const { token, signIn, signOut } = useStoredToken(TOKEN_KEY);
  const { path } = useLocation(BASE);
  // A sign-in link replaces whoever was signed in on this browser.
  if (path === '/sign-in') return <LinkSignIn onToken={signIn} />;
  if (!token) return <Login onToken={signIn} />;
  const ticket = path.match(/^\/tickets\/([^/]+)$/);
  const article = path.match(/^\/help\/([^/]+)$/);
  return (
    <div className="portal">
      <header>
        <Link href={`${BASE}/`}><strong>My Tickets</strong></Link>
        <span>
          <Link href={`${BASE}/help`} style={{ marginRight: 12 }} aria-current={path.startsWith('/help') ? 'page' : undefined}>Help center</Link>
          <Link href={`${BASE}/account`} style={{ marginRight: 12 }} aria-current={path === '/account' ? 'page' : undefined}>Your account</Link>
          <button type="button" onClick={signOut}>Sign out</button>
        </span>
      </header>
      <main>
        {ticket ? (
          <TicketView key={ticket[1]} token={token} number={decodeURIComponent(ticket[1])} />
        ) : article ? (
          <ArticlePage key={article[1]} token={token} id={decodeURIComponent(article[1])} />
        ) : path === '/help' ? (
          <HelpCenter token={token} />
        ) : path === '/new' ? (
          <NewTicket token={token} />
        ) : path === '/account' ? (
          <Account
            token={token}
            onToken={signIn}
            onSignedOut={() => {
              signOut();
              navigate(`${BASE}/`, true);
            }}
          />
        ) : (
          <List token={token} />
        )}
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
