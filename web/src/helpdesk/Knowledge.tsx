// The knowledge base: folders, documents (paste, upload, edit, move, delete), version history
// with compare and revert, URL sources with their health and freshness alerts, and search over
// the chunks answers are drawn from. Staff read; admins change.
import { useState, type FormEvent } from 'react';
import { gql, upload } from '../api/client';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import { ErrorText } from '../lib/ui';
import { Feedback, Page, useMutation, useQuery } from './admin/shared';
import { useSession } from './session';

type Format = 'TEXT' | 'MARKDOWN' | 'HTML' | 'JSON' | 'CSV';
type Folder = { id: string; name: string };
type Doc = { id: string; title: string; format: Format; origin: 'PASTE' | 'UPLOAD' | 'URL'; fileName: string | null; folderId: string | null; version: number; updatedAt: string; updatedBy: string | null; public: boolean };
type FullDoc = Doc & { body: string; versions: { version: number; title: string; createdAt: string; createdBy: string | null }[] };
type Hit = { score: number; fragments: { text: string; highlighted: boolean }[]; chunk: { id: string; documentId: string; documentTitle: string; headingPath: string[]; position: number } };
type Health = 'HEALTHY' | 'STALE_SYNC' | 'SYNC_OVERDUE' | 'SYNC_FAILED' | 'NEVER_SYNCED' | 'NEVER_RETRIEVED';
type Source = { id: string; url: string; refreshMinutes: number; health: Health; documentId: string | null; nextSyncAt: string; lastAttemptAt: string | null; lastSyncedAt: string | null; lastError: string | null; lastRetrievedAt: string | null };
type Alert = { reason: 'STALE_SYNC' | 'NEVER_RETRIEVED'; source: { id: string; url: string } };
type Line = { change: 'SAME' | 'REMOVED' | 'ADDED'; text: string };

const FORMATS: Format[] = ['MARKDOWN', 'TEXT', 'HTML', 'JSON', 'CSV'];
const ACCEPT = '.txt,.md,.markdown,.html,.htm,.json,.csv';

const LIST = gql`query KnowledgeList { knowledgeFolders { id name } knowledgeDocuments { id title format origin fileName folderId version updatedAt updatedBy public } }`;
const DOC = gql`query KnowledgeDoc($id: ID!) { knowledgeDocument(id: $id) { id title body format origin fileName folderId version updatedAt updatedBy public versions { version title createdAt createdBy } } }`;
const SEARCH = gql`query KnowledgeSearch($text: String!) { knowledgeSearch(text: $text, first: 10) { score fragments { text highlighted } chunk { id documentId documentTitle headingPath position } } }`;
const COMPARE = gql`query KnowledgeCompare($id: ID!, $v: Int!) { knowledgeDocument(id: $id) { compareVersion(version: $v) { past { version } lines { change text } } } }`;
const SAVE = gql`mutation SaveKnowledgeDocument($input: KnowledgeDocumentInput!) { saveKnowledgeDocument(input: $input) { id } }`;
const UPLOAD = gql`mutation UploadKnowledgeDocuments($files: [Upload!]!, $folderId: ID) { uploadKnowledgeDocuments(files: $files, folderId: $folderId) { id } }`;
const MOVE = gql`mutation MoveKnowledgeDocument($id: ID!, $folderId: ID) { moveKnowledgeDocument(id: $id, folderId: $folderId) { id } }`;
const DELETE = gql`mutation DeleteKnowledgeDocument($id: ID!) { deleteKnowledgeDocument(id: $id) }`;
const REVERT = gql`mutation RevertKnowledgeDocument($id: ID!, $v: Int!) { revertKnowledgeDocument(id: $id, version: $v) { id } }`;
const SOURCES = gql`query KnowledgeSources { knowledgeSources { id url refreshMinutes health documentId nextSyncAt lastAttemptAt lastSyncedAt lastError lastRetrievedAt } knowledgeFreshnessAlerts { reason source { id url } } }`;
const SAVE_SOURCE = gql`mutation SaveKnowledgeSource($input: KnowledgeSourceInput!) { saveKnowledgeSource(input: $input) { id } }`;
const SYNC_SOURCE = gql`mutation SyncKnowledgeSource($id: ID!) { syncKnowledgeSource(id: $id) { id health lastError } }`;
const DELETE_SOURCE = gql`mutation DeleteKnowledgeSource($id: ID!) { deleteKnowledgeSource(id: $id) }`;
const NEW_FOLDER = gql`mutation CreateKnowledgeFolder($name: String!) { createKnowledgeFolder(name: $name) { id } }`;
const SET_PUBLIC = gql`mutation SetKnowledgeDocumentPublic($id: ID!, $public: Boolean!) { setKnowledgeDocumentPublic(id: $id, public: $public) { id public } }`;
const DELETE_FOLDER = gql`mutation DeleteKnowledgeFolder($id: ID!) { deleteKnowledgeFolder(id: $id) }`;

export default function KnowledgePage() {
  const session = useSession();
  const admin = session.can('admin');
  const { data, error, reload } = useQuery<{ knowledgeFolders: Folder[]; knowledgeDocuments: Doc[] }>(LIST);
  const m = useMutation();
  const [folder, setFolder] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ id?: string; title: string; body: string; format: Format } | null>(null);
  const [folderName, setFolderName] = useState('');
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const docs = (data?.knowledgeDocuments ?? []).filter((d) => folder === null || d.folderId === folder);

  const search = (e: FormEvent) => {
    e.preventDefault();
    void m.run<{ knowledgeSearch: Hit[] }>(SEARCH, { text: query }, (d) => setHits(d.knowledgeSearch), '');
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (!editing) return;
    const input = { ...editing, folderId: editing.id ? data?.knowledgeDocuments.find((d) => d.id === editing.id)?.folderId ?? null : folder };
    void m.run<{ saveKnowledgeDocument: { id: string } }>(SAVE, { input }, async (d) => {
      setEditing(null);
      setOpen(d.saveKnowledgeDocument.id);
      await reload();
    });
  };
  const onFiles = async (files: FileList | null) => {
    if (!files?.length) return;
    try {
      await upload(session.token, UPLOAD, { folderId: folder }, Array.from(files), 'files');
      setUploadError(null);
      await reload();
    } catch (e) {
      setUploadError(e);
    }
  };

  return (
    <Page title="Knowledge">
      <p><Link href="/knowledge/playground">Playground: test what the bot would answer</Link></p>
      <p><Link href="/knowledge/jobs">Background jobs</Link> <span className="muted">— URL syncs and re-indexing, with their progress</span></p>
      <ErrorText error={error} />
      <form className="panel row" onSubmit={search} role="search" aria-label="Search knowledge">
        <input aria-label="Search the knowledge base" placeholder="Search the knowledge base" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button className="primary">Search</button>
      </form>
      {hits && (
        <div className="panel" aria-label="Search results" style={{ marginTop: 12 }}>
          {hits.length === 0 && <p className="muted">Nothing matches.</p>}
          {hits.map((h) => (
            <div key={h.chunk.id} style={{ marginBottom: 8 }}>
              <button type="button" className="link" onClick={() => setOpen(h.chunk.documentId)}>{h.chunk.documentTitle}</button>
              {h.chunk.headingPath.length > 0 && <span className="muted"> › {h.chunk.headingPath.join(' › ')}</span>}
              <div>{h.fragments.map((f, i) => (f.highlighted ? <mark key={i}>{f.text}</mark> : <span key={i}>{f.text}</span>))}</div>
            </div>
          ))}
        </div>
      )}
      <div className="row" style={{ alignItems: 'flex-start', marginTop: 12, gap: 16 }}>
        <aside className="panel" aria-label="Folders" style={{ minWidth: 180 }}>
          <button type="button" className={folder === null ? 'active' : ''} onClick={() => setFolder(null)}>All documents</button>
          {data?.knowledgeFolders.map((f) => (
            <div key={f.id} className="row spread">
              <button type="button" className={folder === f.id ? 'active' : ''} onClick={() => setFolder(f.id)}>{f.name}</button>
              {admin && <button type="button" aria-label={`Delete folder ${f.name}`} onClick={() => void m.run(DELETE_FOLDER, { id: f.id }, async () => { setFolder(null); await reload(); }, 'Folder deleted')}>×</button>}
            </div>
          ))}
          {admin && (
            <form onSubmit={(e) => { e.preventDefault(); void m.run(NEW_FOLDER, { name: folderName }, async () => { setFolderName(''); await reload(); }, 'Folder created'); }}>
              <input aria-label="New folder" placeholder="New folder" value={folderName} onChange={(e) => setFolderName(e.target.value)} />
            </form>
          )}
        </aside>
        <div style={{ flex: 1 }}>
          {admin && (
            <div className="row">
              <button type="button" className="primary" onClick={() => setEditing({ title: '', body: '', format: 'MARKDOWN' })}>Paste a document</button>
              <label className="inline">Upload files<input type="file" multiple accept={ACCEPT} aria-label="Upload files" onChange={(e) => void onFiles(e.target.files)} /></label>
            </div>
          )}
          <ErrorText error={uploadError} />
          <Feedback error={m.error} notice={m.notice} />
          {editing && (
            <form className="panel form" onSubmit={save} aria-label="Document editor">
              <label>Title<input required value={editing.title} onChange={(e) => setEditing({ ...editing, title: e.target.value })} /></label>
              <label>Format
                <select value={editing.format} onChange={(e) => setEditing({ ...editing, format: e.target.value as Format })}>
                  {FORMATS.map((f) => <option key={f} value={f}>{f.toLowerCase()}</option>)}
                </select>
              </label>
              <label>Body<textarea required rows={16} style={{ fontFamily: 'monospace' }} value={editing.body} onChange={(e) => setEditing({ ...editing, body: e.target.value })} /></label>
              <div className="row"><button className="primary">Save</button><button type="button" onClick={() => setEditing(null)}>Cancel</button></div>
            </form>
          )}
          <table aria-label="Documents">
            <thead><tr><th>Title</th><th>Format</th><th>Source</th><th>Help center</th><th>Version</th><th>Updated</th></tr></thead>
            <tbody>
              {docs.length === 0 && <tr><td colSpan={6} className="muted">No documents yet.</td></tr>}
              {docs.map((d) => (
                <tr key={d.id}>
                  <td><button type="button" className="link" onClick={() => setOpen(d.id)}>{d.title}</button></td>
                  <td>{d.format.toLowerCase()}</td>
                  <td>{d.origin === 'UPLOAD' ? d.fileName : d.origin === 'URL' ? 'URL' : 'pasted'}</td>
                  <td>{d.public ? 'Public' : <span className="muted">Staff only</span>}</td>
                  <td>{d.version}</td>
                  <td>{formatDate(d.updatedAt)}{d.updatedBy ? ` by ${d.updatedBy}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <SourcesSection admin={admin} onOpen={setOpen} onChanged={reload} />
          {open && <DocumentView key={open} id={open} admin={admin} folders={data?.knowledgeFolders ?? []} onEdit={(d) => setEditing({ id: d.id, title: d.title, body: d.body, format: d.format })} onChanged={reload} onDeleted={async () => { setOpen(null); await reload(); }} />}
        </div>
      </div>
    </Page>
  );
}

function DocumentView({ id, admin, folders, onEdit, onChanged, onDeleted }: { id: string; admin: boolean; folders: Folder[]; onEdit: (d: FullDoc) => void; onChanged: () => Promise<void>; onDeleted: () => Promise<void> }) {
  const { data, error, reload } = useQuery<{ knowledgeDocument: FullDoc }>(DOC, { id });
  const m = useMutation();
  const [compare, setCompare] = useState<{ version: number; lines: Line[] } | null>(null);
  const d = data?.knowledgeDocument;
  if (!d) return <ErrorText error={error} />;
  const changed = async () => { setCompare(null); await reload(); await onChanged(); };
  return (
    <section className="panel" aria-label={`Document ${d.title}`} style={{ marginTop: 12 }}>
      <div className="row spread">
        <h2>{d.title}</h2>
        {admin && (
          <div className="row">
            {d.origin !== 'URL' && <button type="button" onClick={() => onEdit(d)}>Edit content</button>}
            <button type="button" onClick={() => void m.run(SET_PUBLIC, { id, public: !d.public }, changed, d.public ? 'Removed from the help center' : 'Shown in the help center')}>{d.public ? 'Remove from help center' : 'Show in help center'}</button>
            <select aria-label="Move to folder" value={d.folderId ?? ''} onChange={(e) => void m.run(MOVE, { id, folderId: e.target.value || null }, changed, 'Moved')}>
              <option value="">No folder</option>
              {folders.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
            </select>
            <button type="button" className="danger" onClick={() => void m.run(DELETE, { id }, onDeleted, 'Deleted')}>Delete</button>
          </div>
        )}
      </div>
      <Feedback error={m.error} notice={m.notice} />
      <p className="muted">{d.public ? 'Public: customers find it in the portal\'s help center.' : 'Staff only: not in the help center.'}</p>
      <pre style={{ whiteSpace: 'pre-wrap', maxHeight: 320, overflow: 'auto' }}>{d.body}</pre>
      <h3>Version history</h3>
      <table aria-label="Version history">
        <tbody>
          {d.versions.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}{v.version === d.version ? ' (current)' : ''}</td>
              <td>{v.title}</td>
              <td>{formatDate(v.createdAt)}{v.createdBy ? ` by ${v.createdBy}` : ''}</td>
              <td>
                {v.version !== d.version && (
                  <>
                    <button type="button" onClick={() => void m.run<{ knowledgeDocument: { compareVersion: { lines: Line[] } } }>(COMPARE, { id, v: v.version }, (r) => setCompare({ version: v.version, lines: r.knowledgeDocument.compareVersion.lines }), '')}>Compare</button>
                    {admin && d.origin !== 'URL' && <button type="button" onClick={() => void m.run(REVERT, { id, v: v.version }, changed, `Reverted to v${v.version}`)}>Revert</button>}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {compare && (
        <div aria-label={`Changes since v${compare.version}`}>
          <h3>v{compare.version} against the current content</h3>
          <pre style={{ whiteSpace: 'pre-wrap' }}>
            {compare.lines.map((l, i) => (
              <div key={i} className={l.change === 'ADDED' ? 'ok' : l.change === 'REMOVED' ? 'error' : ''}>{l.change === 'ADDED' ? '+ ' : l.change === 'REMOVED' ? '- ' : '  '}{l.text}</div>
            ))}
          </pre>
        </div>
      )}
    </section>
  );
}

const HEALTH: Record<Health, { label: string; badge: string; meaning: string }> = {
  HEALTHY: { label: 'Healthy', badge: 'status-RESOLVED', meaning: 'Synced recently, no errors' },
  STALE_SYNC: { label: 'Stale sync', badge: 'priority-HIGH', meaning: 'Content may be outdated' },
  SYNC_OVERDUE: { label: 'Sync overdue', badge: 'status-IN_PROGRESS', meaning: 'Scheduled refresh has not run' },
  SYNC_FAILED: { label: 'Sync failed', badge: 'priority-URGENT', meaning: 'Last fetch or index failed' },
  NEVER_SYNCED: { label: 'Never synced', badge: 'status-CLOSED', meaning: 'URL added but not yet indexed' },
  NEVER_RETRIEVED: { label: 'Never retrieved', badge: 'status-WAITING', meaning: 'Not used by any search in 30 days' },
};

// URL sources: add a page with its refresh interval, sync now, delete; each with its health
// badge and last error, and the freshness alerts above them.
function SourcesSection({ admin, onOpen, onChanged }: { admin: boolean; onOpen: (id: string) => void; onChanged: () => Promise<void> }) {
  const { data, error, reload } = useQuery<{ knowledgeSources: Source[]; knowledgeFreshnessAlerts: Alert[] }>(SOURCES);
  const m = useMutation();
  const [url, setUrl] = useState('');
  const [minutes, setMinutes] = useState('180');
  const changed = async () => { await reload(); await onChanged(); };
  const add = (e: FormEvent) => {
    e.preventDefault();
    void m.run(SAVE_SOURCE, { input: { url, refreshMinutes: Number(minutes) } }, async () => { setUrl(''); await changed(); }, 'Source saved; it syncs within a few seconds');
  };
  const alerts = data?.knowledgeFreshnessAlerts ?? [];
  return (
    <section className="panel" aria-label="URL sources" style={{ marginTop: 12 }}>
      <h2>URL sources</h2>
      <ErrorText error={error} />
      {alerts.length > 0 && (
        <div role="alert" aria-label="Freshness alerts">
          <strong>Freshness alerts</strong>
          <ul>
            {alerts.map((a) => <li key={a.source.id}>{a.source.url}: {a.reason === 'STALE_SYNC' ? 'stale content' : 'not retrieved by any search in 30 days'}</li>)}
          </ul>
        </div>
      )}
      {admin && (
        <form className="row" onSubmit={add} aria-label="Add a URL source">
          <input aria-label="Page URL" type="url" required placeholder="https://docs.example.com/page" value={url} onChange={(e) => setUrl(e.target.value)} style={{ flex: 1 }} />
          <label className="inline">Refresh every (minutes)<input aria-label="Refresh every (minutes)" type="number" min={15} value={minutes} onChange={(e) => setMinutes(e.target.value)} style={{ width: 90 }} /></label>
          <button className="primary">Add URL</button>
        </form>
      )}
      <Feedback error={m.error} notice={m.notice} />
      <table aria-label="Sources">
        <thead><tr><th>URL</th><th>Health</th><th>Every</th><th>Last synced</th><th>Next sync</th><th>Last error</th><th /></tr></thead>
        <tbody>
          {(data?.knowledgeSources ?? []).length === 0 && <tr><td colSpan={7} className="muted">No URL sources yet.</td></tr>}
          {data?.knowledgeSources.map((s) => (
            <tr key={s.id}>
              <td>{s.documentId ? <button type="button" className="link" onClick={() => onOpen(s.documentId!)}>{s.url}</button> : s.url}</td>
              <td><span className={`badge ${HEALTH[s.health].badge}`} title={HEALTH[s.health].meaning}>{HEALTH[s.health].label}</span></td>
              <td>{s.refreshMinutes} min</td>
              <td>{s.lastSyncedAt ? formatDate(s.lastSyncedAt) : '—'}</td>
              <td>{formatDate(s.nextSyncAt)}</td>
              <td className={s.lastError ? 'error' : 'muted'}>{s.lastError ?? '—'}</td>
              <td>
                {admin && (
                  <div className="row">
                    <button type="button" onClick={() => void m.run<{ syncKnowledgeSource: { health: Health; lastError: string | null } }>(SYNC_SOURCE, { id: s.id }, changed, 'Synced')}>Sync now</button>
                    <button type="button" className="danger" aria-label={`Delete source ${s.url}`} onClick={() => void m.run(DELETE_SOURCE, { id: s.id }, changed, 'Source deleted')}>Delete</button>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
