// Ticket detail: the conversation (public replies and internal notes told apart), the reply box
// with canned responses, internal notes with @mentions, details editing, history, attachments,
// claim / release, close with a reason, reopen. New entries appear live.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { downloadAttachment, gql, request, upload } from '../api/client';
import type { CannedResponse, CloseReason, Entry, HistoryItem, Priority, Ticket, TicketStatus } from '../api/schema';
import { CloseReasonValues, PriorityValues, TicketStatusValues } from '../api/schema';
import { closeReasonLabel, formatDate, localInput, priorityLabel, relative, statusLabel } from '../lib/format';
import { Link } from '../lib/router';
import { ErrorText, PriorityBadge, StatusBadge, Tabs } from '../lib/ui';
import { handleOf, useSession } from './session';
import { useTicketEvents } from './Tickets';

type DetailEntry = Pick<Entry, 'id' | 'kind' | 'internal' | 'body' | 'channel' | 'authorName' | 'authorUserId' | 'authorContactId' | 'deliveryStatus' | 'createdAt'> & {
  attachments: { id: string; fileName: string; sizeBytes: number; url: string }[];
};
type Detail = Pick<
  Ticket,
  | 'id' | 'number' | 'subject' | 'status' | 'priority' | 'source' | 'tags' | 'escalated' | 'chatOriginated'
  | 'firstResponseDueAt' | 'resolutionDueAt' | 'slaDueAt' | 'firstRespondedAt' | 'resolvedAt' | 'closedAt'
  | 'closeReason' | 'closeNote' | 'createdAt' | 'updatedAt' | 'slaPaused'
> & {
  queue: { id: string; name: string };
  helpTopic: { id: string; name: string } | null;
  requester: { id: string; name: string; email: string | null };
  assignee: { id: string; name: string } | null;
  entries: DetailEntry[];
  history: Pick<HistoryItem, 'id' | 'actor' | 'field' | 'oldValue' | 'newValue' | 'createdAt'>[];
  slaBreaches: { target: string; dueAt: string }[];
  transcript: {
    archivedAt: string;
    html: { fileName: string; url: string } | null;
    text: { fileName: string; url: string } | null;
  } | null;
};

const DETAIL = gql`
  query TicketDetail($number: String!) {
    ticket(number: $number) {
      id number subject status priority source tags escalated chatOriginated
      firstResponseDueAt resolutionDueAt slaDueAt firstRespondedAt resolvedAt closedAt
      closeReason closeNote createdAt updatedAt slaPaused
      queue { id name }
      helpTopic { id name }
      requester { id name email }
      assignee { id name }
      entries {
        id kind internal body channel authorName authorUserId authorContactId deliveryStatus createdAt
        attachments { id fileName sizeBytes url }
      }
      history { id actor field oldValue newValue createdAt }
      slaBreaches { target dueAt }
      transcript { archivedAt html { fileName url } text { fileName url } }
    }
    cannedResponses { id title shortcut helpTopicId }
  }
`;
const REPLY = gql`
  mutation Reply($ticketId: ID!, $body: String!, $status: TicketStatus, $attachments: [Upload!]) {
    reply(ticketId: $ticketId, body: $body, status: $status, attachments: $attachments) { id }
  }
`;
const NOTE = gql`
  mutation Note($ticketId: ID!, $body: String!) { addNote(ticketId: $ticketId, body: $body) { id mentions } }
`;
const PREVIEW = gql`
  query Preview($id: ID!, $ticketId: ID!) { previewCannedResponse(id: $id, ticketId: $ticketId) }
`;
const UPDATE = gql`
  mutation Update($ticketId: ID!, $input: TicketPatch!) { updateTicket(ticketId: $ticketId, input: $input) { id } }
`;
const CLAIM = gql`mutation Claim($id: ID!) { claimTicket(ticketId: $id) { id } }`;
const UNCLAIM = gql`mutation Unclaim($id: ID!) { unclaimTicket(ticketId: $id) { id } }`;
const CLOSE = gql`
  mutation Close($id: ID!, $reason: CloseReason!, $note: String) { closeTicket(ticketId: $id, reason: $reason, note: $note) { id } }
`;
const REOPEN = gql`mutation Reopen($id: ID!) { reopenTicket(ticketId: $id) { id } }`;

type Canned = Pick<CannedResponse, 'id' | 'title' | 'shortcut' | 'helpTopicId'>;

function EntryView({ e, token }: { e: DetailEntry; token: string }) {
  const kind = e.kind === 'NOTE' ? 'note' : e.kind === 'SYSTEM' ? 'system' : e.authorContactId ? 'customer' : 'reply';
  const label = e.kind === 'NOTE' ? 'Internal note' : e.kind === 'SYSTEM' ? 'System' : e.authorContactId ? 'Requester' : 'Public reply';
  return (
    <article className={`entry ${kind}`} data-testid="entry" data-kind={e.kind} aria-label={`${label} by ${e.authorName ?? 'System'}`}>
      <div className="meta">
        <strong>{e.authorName ?? 'System'}</strong>
        <span className={`badge ${e.kind === 'NOTE' ? 'status-IN_PROGRESS' : 'status-CLOSED'}`}>{label}</span>
        <span>{formatDate(e.createdAt)}</span>
        <span>via {e.channel.toLowerCase()}</span>
        {e.deliveryStatus && <span>· {e.deliveryStatus}</span>}
      </div>
      <div className="body">{e.body}</div>
      {e.attachments.length > 0 && (
        <ul>
          {e.attachments.map((a) => (
            <li key={a.id}>
              <button type="button" className="link" onClick={() => void downloadAttachment(token, a.url, a.fileName)}>
                {a.fileName}
              </button>{' '}
              <span className="muted">({Math.ceil(a.sizeBytes / 1024)} KB)</span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

function Composer({ t, canned, reload }: { t: Detail; canned: Canned[]; reload: () => Promise<void> }) {
  const s = useSession();
  const [mode, setMode] = useState<'reply' | 'note'>('reply');
  const [body, setBody] = useState('');
  const [status, setStatus] = useState<TicketStatus | ''>('');
  const [files, setFiles] = useState<File[]>([]);
  const [cannedId, setCannedId] = useState('');
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState('');

  const pickCanned = async (id: string) => {
    setCannedId(id);
    setPreview(null);
    if (!id) return;
    try {
      const d = await request<{ previewCannedResponse: string }>(s.token, PREVIEW, { id, ticketId: t.id });
      setPreview(d.previewCannedResponse);
    } catch (e) {
      setError(e);
    }
  };
  // The @handle being typed at the end of the note, for suggestions.
  const mention = mode === 'note' ? body.match(/(?:^|\s)@([\w.+-]*)$/)?.[1] : undefined;
  const suggestions = mention === undefined ? [] : s.users.filter((u) => u.active && handleOf(u.email).toLowerCase().startsWith(mention.toLowerCase())).slice(0, 6);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    setError(null);
    try {
      if (mode === 'reply') {
        await upload(s.token, REPLY, { ticketId: t.id, body, status: status || null }, files);
      } else {
        await request(s.token, NOTE, { ticketId: t.id, body });
      }
      setSent(mode === 'reply' ? 'Reply sent' : 'Internal note added');
      setBody('');
      setFiles([]);
      setStatus('');
      setCannedId('');
      setPreview(null);
      await reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const topicCanned = canned.filter((c) => !c.helpTopicId || c.helpTopicId === t.helpTopic?.id);
  return (
    <form className="panel form" onSubmit={submit} aria-label={mode === 'reply' ? 'Reply to the requester' : 'Add an internal note'}>
      <Tabs
        tabs={[
          ['reply', 'Public reply'],
          ['note', 'Internal note'],
        ]}
        value={mode}
        onChange={(m) => { setMode(m); setSent(''); }}
      />
      {mode === 'reply' && (
        <div className="row">
          <label>
            Canned response
            <select value={cannedId} onChange={(e) => void pickCanned(e.target.value)}>
              <option value="">Insert a canned response…</option>
              {topicCanned.map((c) => <option key={c.id} value={c.id}>{c.title}{c.shortcut ? ` (${c.shortcut})` : ''}</option>)}
            </select>
          </label>
        </div>
      )}
      {preview !== null && (
        <div className="panel" aria-label="Canned response preview" data-testid="canned-preview">
          <div className="muted">Preview</div>
          <div className="body" style={{ whiteSpace: 'pre-wrap' }}>{preview}</div>
          <div className="row" style={{ marginTop: 8 }}>
            <button type="button" onClick={() => { setBody((b) => (b ? `${b}\n\n${preview}` : preview)); setPreview(null); }}>Insert</button>
            <button type="button" onClick={() => { setPreview(null); setCannedId(''); }}>Discard</button>
          </div>
        </div>
      )}
      <label>
        {mode === 'reply' ? 'Reply (the requester sees this)' : 'Internal note (only staff see this; @handle mentions)'}
        <textarea
          data-shortcut="reply"
          value={body}
          onChange={(e) => setBody(e.target.value)}
          style={mode === 'note' ? { background: '#fffbeb' } : undefined}
        />
      </label>
      {suggestions.length > 0 && (
        <div className="row" role="listbox" aria-label="Mention a team member">
          {suggestions.map((u) => (
            <button
              key={u.id}
              type="button"
              role="option"
              aria-selected="false"
              onClick={() => setBody((b) => b.replace(/@[\w.+-]*$/, `@${handleOf(u.email)} `))}
            >
              @{handleOf(u.email)} · {u.name}
            </button>
          ))}
        </div>
      )}
      {mode === 'reply' && (
        <div className="row">
          <label>
            Then set status
            <select value={status} onChange={(e) => setStatus(e.target.value as TicketStatus | '')}>
              <option value="">Keep ({statusLabel[t.status]})</option>
              {TicketStatusValues.filter((v) => v !== 'CLOSED').map((v) => <option key={v} value={v}>{statusLabel[v]}</option>)}
            </select>
          </label>
          <label>
            Attachments
            <input type="file" multiple onChange={(e) => setFiles(Array.from(e.target.files ?? []))} />
          </label>
        </div>
      )}
      <ErrorText error={error} />
      <div className="row">
        <button className="primary" disabled={busy || !body.trim()}>{mode === 'reply' ? 'Send reply' : 'Add note'}</button>
        {sent && <span role="status" className="muted">{sent}</span>}
      </div>
    </form>
  );
}

function DetailsForm({ t, reload }: { t: Detail; reload: () => Promise<void> }) {
  const s = useSession();
  const initial = () => ({
    subject: t.subject,
    status: t.status,
    priority: t.priority,
    assigneeId: t.assignee?.id ?? '',
    queueId: t.queue.id,
    helpTopicId: t.helpTopic?.id ?? '',
    tags: t.tags.join(', '),
    due: t.resolutionDueAt ? localInput(new Date(t.resolutionDueAt)) : '',
  });
  const [f, setF] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setF(initial()), [t.updatedAt]); // eslint-disable-line react-hooks/exhaustive-deps
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const i = initial();
    const patch: Record<string, unknown> = {};
    if (f.subject !== i.subject) patch.subject = f.subject;
    if (f.status !== i.status) patch.status = f.status;
    if (f.priority !== i.priority) patch.priority = f.priority;
    if (f.assigneeId !== i.assigneeId) patch.assigneeId = f.assigneeId || null;
    if (f.queueId !== i.queueId) patch.queueId = f.queueId;
    if (f.helpTopicId !== i.helpTopicId) patch.helpTopicId = f.helpTopicId || null;
    if (f.tags !== i.tags) patch.tags = f.tags.split(',').map((x) => x.trim()).filter(Boolean);
    if (f.due !== i.due) patch.resolutionDueAt = f.due ? new Date(f.due).toISOString() : null;
    if (!Object.keys(patch).length) return;
    try {
      await request(s.token, UPDATE, { ticketId: t.id, input: patch });
      setError(null);
      setSaved(true);
      await reload();
    } catch (err) {
      setError(err);
    }
  };
  const ro = !s.can('manage');
  return (
    <form className="panel form" onSubmit={save} aria-label="Ticket details">
      <h2 style={{ marginTop: 0 }}>Details</h2>
      <label>
        Subject
        <input value={f.subject} disabled={ro} onChange={(e) => setF({ ...f, subject: e.target.value })} />
      </label>
      <label>
        Status
        <select value={f.status} disabled={ro || t.status === 'CLOSED'} onChange={(e) => setF({ ...f, status: e.target.value as TicketStatus })}>
          {TicketStatusValues.filter((v) => v !== 'CLOSED' || t.status === 'CLOSED').map((v) => <option key={v} value={v}>{statusLabel[v]}</option>)}
        </select>
      </label>
      <label>
        Priority
        <select value={f.priority} disabled={ro} onChange={(e) => setF({ ...f, priority: e.target.value as Priority })}>
          {PriorityValues.slice().reverse().map((v) => <option key={v} value={v}>{priorityLabel[v]}</option>)}
        </select>
      </label>
      <label>
        Assignee
        <select value={f.assigneeId} disabled={ro} onChange={(e) => setF({ ...f, assigneeId: e.target.value })}>
          <option value="">Unassigned</option>
          {s.users.filter((u) => u.active || u.id === f.assigneeId).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
        </select>
      </label>
      <label>
        Queue
        <select value={f.queueId} disabled={ro} onChange={(e) => setF({ ...f, queueId: e.target.value })}>
          {s.queues.map((q) => <option key={q.id} value={q.id}>{q.name}</option>)}
        </select>
      </label>
      <label>
        Help topic
        <select value={f.helpTopicId} disabled={ro} onChange={(e) => setF({ ...f, helpTopicId: e.target.value })}>
          <option value="">None</option>
          {s.topics.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
        </select>
      </label>
      <label>
        Tags (comma-separated)
        <input value={f.tags} disabled={ro} onChange={(e) => setF({ ...f, tags: e.target.value })} />
      </label>
      <label>
        Resolution due
        <input type="datetime-local" value={f.due} disabled={ro} onChange={(e) => setF({ ...f, due: e.target.value })} />
      </label>
      <ErrorText error={error} />
      {!ro && <button className="primary">Save changes</button>}
      {saved && !error && <span role="status" className="muted">Saved</span>}
      <dl className="muted" style={{ margin: 0, fontSize: 12 }}>
        <dt>Requester</dt>
        <dd>{t.requester.name} {t.requester.email && `<${t.requester.email}>`}</dd>
        <dt>First response due</dt>
        <dd>{t.firstRespondedAt ? `Responded ${formatDate(t.firstRespondedAt)}` : formatDate(t.firstResponseDueAt)}</dd>
        <dt>Resolution due</dt>
        <dd>{formatDate(t.resolutionDueAt)}{t.slaPaused && ' (SLA clock paused)'}</dd>
        {t.slaBreaches.length > 0 && (
          <>
            <dt>SLA targets missed</dt>
            <dd>{t.slaBreaches.map((b) => `${b.target === 'FIRST_RESPONSE' ? 'First response' : 'Resolution'} (${formatDate(b.dueAt)})`).join(', ')}</dd>
          </>
        )}
        <dt>Source</dt>
        <dd>{t.source.toLowerCase()}{t.chatOriginated && ' (chat)'}</dd>
        <dt>Opened</dt>
        <dd>{formatDate(t.createdAt)}</dd>
      </dl>
    </form>
  );
}

function CloseForm({ t, reload, onDone }: { t: Detail; reload: () => Promise<void>; onDone: () => void }) {
  const s = useSession();
  const [reason, setReason] = useState<CloseReason>('RESOLVED');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await request(s.token, CLOSE, { id: t.id, reason, note: note.trim() || null });
      onDone();
      await reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="panel form" onSubmit={submit} aria-label="Close ticket">
      <label>
        Close reason
        <select value={reason} onChange={(e) => setReason(e.target.value as CloseReason)}>
          {CloseReasonValues.map((r) => <option key={r} value={r}>{closeReasonLabel[r]}</option>)}
        </select>
      </label>
      <label>
        Close note (optional, up to 500 characters)
        <textarea maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      <ErrorText error={error} />
      <div className="row">
        <button className="primary">Close ticket</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

// The transcript archived when a channel ticket (Discord) closed: its conversation outlives the
// channel, so it is offered here rather than left among the entries' files.
function TranscriptLinks({ transcript, token }: { transcript: NonNullable<Detail['transcript']>; token: string }) {
  const file = (f: { fileName: string; url: string } | null, label: string) =>
    f && (
      <button type="button" onClick={() => void downloadAttachment(token, f.url, f.fileName)}>
        {label}
      </button>
    );
  return (
    <div className="row" role="region" aria-label="Transcript" data-testid="transcript" style={{ marginTop: 8 }}>
      <strong>Transcript</strong>
      <span className="muted">archived {formatDate(transcript.archivedAt)}</span>
      {file(transcript.html, 'Transcript (HTML)')}
      {file(transcript.text, 'Transcript (text)')}
    </div>
  );
}

export function TicketDetail({ number }: { number: string }) {
  const s = useSession();
  const [t, setT] = useState<Detail | null>(null);
  const [canned, setCanned] = useState<Canned[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [tab, setTab] = useState<'conversation' | 'history' | 'attachments'>('conversation');
  const [closing, setClosing] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const d = await request<{ ticket: Detail; cannedResponses: Canned[] }>(s.token, DETAIL, { number });
      setT(d.ticket);
      setCanned(d.cannedResponses);
    } catch (e) {
      setError(e);
    }
  }, [s.token, number]);
  useEffect(() => {
    void load();
  }, [load]);
  useTicketEvents(s.token, (ev) => {
    if (t && (ev.ticketId === null || ev.ticketId === t.id)) void load();
  });

  const act = async (doc: string) => {
    if (!t) return;
    try {
      setActionError(null);
      await request(s.token, doc, { id: t.id });
      await load();
    } catch (e) {
      setActionError(e);
    }
  };

  if (error) return <ErrorText error={error} />;
  if (!t) return <p className="muted">Loading ticket…</p>;
  const mine = !!t.assignee && t.assignee.id === s.me.userId;
  const closed = t.status === 'CLOSED' || t.status === 'RESOLVED';
  const attachments = t.entries.flatMap((e) => e.attachments.map((a) => ({ ...a, entry: e })));
  return (
    <section aria-labelledby="ticket-title">
      <p><Link href="/">← Tickets</Link></p>
      <div className="row spread">
        <div>
          <div className="muted">#{t.number}</div>
          <h1 id="ticket-title">{t.subject}</h1>
          <div className="row">
            <StatusBadge status={t.status} />
            <PriorityBadge priority={t.priority} />
            {t.escalated && <span className="badge status-CLOSED">Escalated</span>}
            <span className="muted" data-testid="assignee">Assignee: {t.assignee?.name ?? 'Unassigned'}</span>
            <span className="muted">Queue: {t.queue.name}</span>
            {t.slaDueAt && !closed && <span className="muted">SLA target {relative(t.slaDueAt)}</span>}
            {t.closeReason && <span className="muted" data-testid="close-reason">Closed: {closeReasonLabel[t.closeReason]}{t.closeNote ? ` — ${t.closeNote}` : ''}</span>}
          </div>
        </div>
        {s.can('manage') && (
          <div className="row">
            {!closed && !mine && <button type="button" onClick={() => void act(CLAIM)}>Claim</button>}
            {!closed && mine && <button type="button" onClick={() => void act(UNCLAIM)}>Release</button>}
            {t.status !== 'CLOSED' && !closing && <button type="button" className="danger" onClick={() => setClosing(true)}>Close…</button>}
            {closed && <button type="button" onClick={() => void act(REOPEN)}>Reopen</button>}
          </div>
        )}
      </div>
      <ErrorText error={actionError} />
      {t.transcript && <TranscriptLinks transcript={t.transcript} token={s.token} />}
      {closing && <CloseForm t={t} reload={load} onDone={() => setClosing(false)} />}
      <div className="detail" style={{ marginTop: 12 }}>
        <div>
          <Tabs
            tabs={[
              ['conversation', `Conversation (${t.entries.length})`],
              ['history', 'History'],
              ['attachments', `Attachments (${attachments.length})`],
            ]}
            value={tab}
            onChange={setTab}
          />
          {tab === 'conversation' && (
            <>
              <div className="thread" aria-label="Conversation">
                {t.entries.map((e) => <EntryView key={e.id} e={e} token={s.token} />)}
              </div>
              {s.can('manage') && (
                <div style={{ marginTop: 12 }}>
                  <Composer t={t} canned={canned} reload={load} />
                </div>
              )}
            </>
          )}
          {tab === 'history' && (
            <table aria-label="History">
              <thead>
                <tr><th>When</th><th>Who</th><th>Field</th><th>From</th><th>To</th></tr>
              </thead>
              <tbody>
                {t.history.map((h) => (
                  <tr key={h.id}>
                    <td>{formatDate(h.createdAt)}</td>
                    <td>{h.actor}</td>
                    <td>{h.field}</td>
                    <td>{h.oldValue ?? '—'}</td>
                    <td>{h.newValue ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {tab === 'attachments' &&
            (attachments.length ? (
              <ul>
                {attachments.map((a) => (
                  <li key={a.id}>
                    <button type="button" onClick={() => void downloadAttachment(s.token, a.url, a.fileName)}>{a.fileName}</button>{' '}
                    <span className="muted">{Math.ceil(a.sizeBytes / 1024)} KB · {a.entry.authorName ?? 'System'} · {formatDate(a.entry.createdAt)}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted">No attachments yet. Attach files to a reply.</p>
            ))}
        </div>
        <DetailsForm t={t} reload={load} />
      </div>
    </section>
  );
}
