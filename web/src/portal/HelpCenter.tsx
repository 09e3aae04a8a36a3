// The help center: the workspace's public knowledge articles, browsed by folder and searched,
// and the suggestions the new-ticket form shows while the customer types a subject. Only the
// help center's own fields are asked for; the server returns public articles only.
import { useEffect, useState, type FormEvent } from 'react';
import { gql, request } from '../api/client';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import { ErrorText } from '../lib/ui';

const BASE = '/portal';

const ARTICLES = gql`query HelpCenter { helpCenterFolders { id name } helpCenterArticles { id title folderId updatedAt } }`;
const ARTICLE = gql`query HelpCenterArticle($id: ID!) { helpCenterArticle(id: $id) { id title body updatedAt } }`;
const SEARCH = gql`query HelpCenterSearch($text: String!, $first: Int) { helpCenterSearch(text: $text, first: $first) { articleId title headingPath fragments { text highlighted } } }`;

type Folder = { id: string; name: string };
type Article = { id: string; title: string; folderId: string | null; updatedAt: string };
type FullArticle = { id: string; title: string; body: string; updatedAt: string };
type Hit = { articleId: string; title: string; headingPath: string[]; fragments: { text: string; highlighted: boolean }[] };

/** How long typing pauses before suggestions are looked up. */
const SUGGEST_AFTER_MS = 300;

function Excerpt({ hit }: { hit: Hit }) {
  return (
    <div className="muted">
      {hit.headingPath.length > 0 && <span>{hit.headingPath.join(' › ')}: </span>}
      {hit.fragments.map((f, i) => (f.highlighted ? <mark key={i}>{f.text}</mark> : <span key={i}>{f.text}</span>))}
    </div>
  );
}

function Hits({ hits, onOpen }: { hits: Hit[]; onOpen?: (id: string) => void }) {
  return (
    <ul className="plain">
      {hits.map((h) => (
        <li key={h.articleId} data-testid="help-hit">
          {onOpen ? (
            <button type="button" className="link" onClick={() => onOpen(h.articleId)}>{h.title}</button>
          ) : (
            <Link href={`${BASE}/help/${h.articleId}`}>{h.title}</Link>
          )}
          <Excerpt hit={h} />
        </li>
      ))}
    </ul>
  );
}

/** `/portal/help`: search box, folders and articles. */
export function HelpCenter({ token }: { token: string }) {
  const [data, setData] = useState<{ helpCenterFolders: Folder[]; helpCenterArticles: Article[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [folder, setFolder] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [hits, setHits] = useState<Hit[] | null>(null);
  useEffect(() => {
    request<{ helpCenterFolders: Folder[]; helpCenterArticles: Article[] }>(token, ARTICLES).then(setData, setError);
  }, [token]);
  const search = (e: FormEvent) => {
    e.preventDefault();
    request<{ helpCenterSearch: Hit[] }>(token, SEARCH, { text, first: 20 }).then((d) => setHits(d.helpCenterSearch), setError);
  };
  const articles = (data?.helpCenterArticles ?? []).filter((a) => folder === null || a.folderId === folder);
  return (
    <section aria-labelledby="help-title">
      <h1 id="help-title">Help center</h1>
      <form className="panel row" role="search" aria-label="Search the help center" onSubmit={search}>
        <input aria-label="Search for answers" placeholder="Search for answers" value={text} onChange={(e) => setText(e.target.value)} style={{ flex: 1 }} />
        <button className="primary">Search</button>
      </form>
      <ErrorText error={error} />
      {hits && (
        <div className="panel" aria-label="Search results" style={{ marginTop: 12 }}>
          {hits.length === 0 ? <p className="muted">No article matches. <Link href={`${BASE}/new`}>Ask us instead</Link>.</p> : <Hits hits={hits} />}
        </div>
      )}
      <div className="row" style={{ alignItems: 'flex-start', marginTop: 12, gap: 16 }}>
        {(data?.helpCenterFolders.length ?? 0) > 0 && (
          <nav className="panel" aria-label="Help center folders" style={{ minWidth: 160 }}>
            <button type="button" className={folder === null ? 'active' : ''} onClick={() => setFolder(null)}>All articles</button>
            {data?.helpCenterFolders.map((f) => (
              <div key={f.id}><button type="button" className={folder === f.id ? 'active' : ''} onClick={() => setFolder(f.id)}>{f.name}</button></div>
            ))}
          </nav>
        )}
        <ul className="plain panel" aria-label="Articles" style={{ flex: 1 }}>
          {data && articles.length === 0 && <li className="muted">No articles yet.</li>}
          {articles.map((a) => (
            <li key={a.id}><Link href={`${BASE}/help/${a.id}`}>{a.title}</Link> <span className="muted">updated {formatDate(a.updatedAt)}</span></li>
          ))}
        </ul>
      </div>
    </section>
  );
}

/** One article, as text. */
export function ArticleBody({ token, id }: { token: string; id: string }) {
  const [a, setA] = useState<FullArticle | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    request<{ helpCenterArticle: FullArticle }>(token, ARTICLE, { id }).then((d) => setA(d.helpCenterArticle), setError);
  }, [token, id]);
  if (error) return <ErrorText error={error} />;
  if (!a) return <p className="muted">Loading…</p>;
  return (
    <article aria-label={a.title}>
      <h2>{a.title}</h2>
      <p className="muted">Updated {formatDate(a.updatedAt)}</p>
      <div style={{ whiteSpace: 'pre-wrap' }}>{a.body}</div>
    </article>
  );
}

/** `/portal/help/<id>`. */
export function ArticlePage({ token, id }: { token: string; id: string }) {
  return (
    <section>
      <p><Link href={`${BASE}/help`}>← Help center</Link></p>
      <ArticleBody token={token} id={id} />
      <p className="muted">Still need help? <Link href={`${BASE}/new`}>Open a ticket</Link>.</p>
    </section>
  );
}

/** Articles matching the subject being typed; one opens in place, so the form keeps its text. */
export function Suggestions({ token, subject }: { token: string; subject: string }) {
  const [hits, setHits] = useState<Hit[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    const text = subject.trim();
    if (text.length < 3) {
      setHits([]);
      return;
    }
    let current = true;
    const t = window.setTimeout(() => {
      request<{ helpCenterSearch: Hit[] }>(token, SEARCH, { text, first: 5 }).then(
        (d) => current && setHits(d.helpCenterSearch),
        () => current && setHits([]),
      );
    }, SUGGEST_AFTER_MS);
    return () => {
      current = false;
      window.clearTimeout(t);
    };
  }, [token, subject]);
  if (hits.length === 0) return null;
  return (
    <div className="panel" aria-label="Suggested articles" role="region">
      <strong>These articles may answer your question</strong>
      <Hits hits={hits} onOpen={(id) => setOpen(open === id ? null : id)} />
      {open && (
        <div className="panel" style={{ marginTop: 8 }}>
          <ArticleBody key={open} token={token} id={open} />
          <button type="button" onClick={() => setOpen(null)}>Close article</button>
        </div>
      )}
    </div>
  );
}
