// Create ticket: Details / Requester / Media tabs; picking a help topic fills in its defaults
// (priority, queue, assignee, resolution due).
import { useEffect, useState, type FormEvent } from 'react';
import { gql, request, upload } from '../api/client';
import type { Priority, Source } from '../api/schema';
import { PriorityValues, SourceValues } from '../api/schema';
import { localInput, priorityLabel } from '../lib/format';
import { navigate } from '../lib/router';
import { ErrorText, Tabs } from '../lib/ui';
import { useSession } from './session';

const CONTACTS = gql`
  query RequesterSearch($search: String) { contacts(search: $search, first: 8) { id name email } }
`;

const OPEN_TICKET = gql`
  mutation OpenTicket($input: OpenTicketInput!, $attachments: [Upload!]) {
    openTicket(input: $input, attachments: $attachments) { id number }
  }
`;

export default function NewTicket() {
  const s = useSession();
  const [tab, setTab] = useState<'details' | 'requester' | 'media'>('details');
  const [f, setF] = useState({
    subject: '',
    description: '',
    helpTopicId: '',
    priority: 'NORMAL' as Priority,
    queueId: '',
    assigneeId: '',
    source: 'PHONE' as Source,
    tags: '',
    due: '',
    email: '',
    name: '',
  });
  const [files, setFiles] = useState<File[]>([]);
  const [matches, setMatches] = useState<{ id: string; name: string; email: string | null }[]>([]);
  // Existing requesters matching what is typed, offered as suggestions.
  useEffect(() => {
    const q = f.email.trim();
    if (q.length < 2) return setMatches([]);
    const t = setTimeout(() => {
      request<{ contacts: { id: string; name: string; email: string | null }[] }>(s.token, CONTACTS, { search: q }).then((d) => setMatches(d.contacts), () => {});
    }, 200);
    return () => clearTimeout(t);
  }, [f.email, s.token]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const pickTopic = (id: string) => {
    const t = s.topics.find((x) => x.id === id);
    setF({
      ...f,
      helpTopicId: id,
      priority: t?.defaultPriority ?? f.priority,
      queueId: t?.defaultQueueId ?? f.queueId,
      assigneeId: t?.defaultAssigneeId ?? f.assigneeId,
      due: t?.dueOffsetMinutes ? localInput(new Date(Date.now() + t.dueOffsetMinutes * 60000)) : f.due,
    });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!f.subject.trim()) return setTab('details');
    if (!f.email.trim()) return setTab('requester');
    setBusy(true);
    try {
      const input = {
        subject: f.subject,
        description: f.description || null,
        requester: { email: f.email, name: f.name || null },
        priority: f.priority,
        source: f.source,
        queueId: f.queueId || null,
        helpTopicId: f.helpTopicId || null,
        assigneeId: f.assigneeId || null,
        tags: f.tags.split(',').map((x) => x.trim()).filter(Boolean),
        resolutionDueAt: f.due ? new Date(f.due).toISOString() : null,
      };
      const d = await upload<{ openTicket: { number: string } }>(s.token, OPEN_TICKET, { input }, files);
      navigate(`/tickets/${d.openTicket.number}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit} aria-labelledby="new-title" style={{ maxWidth: 720 }}>
      <h1 id="new-title">New ticket</h1>
      <Tabs tabs={[['details', 'Details'], ['requester', 'Requester'], ['media', 'Media']]} value={tab} onChange={setTab} />
      <div className="panel form" hidden={tab !== 'details'}>
        <label>Subject<input required value={f.subject} onChange={(e) => setF({ ...f, subject: e.target.value })} /></label>
        <label>Description<textarea value={f.description} onChange={(e) => setF({ ...f, description: e.target.value })} /></label>
        <div className="grid2">
          <label>
            Help topic
            <select value={f.helpTopicId} onChange={(e) => pickTopic(e.target.value)}>
              <option value="">None</option>
              {s.topics.filter((t) => t.active).map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
          </label>
          <label>
            Priority
            <select value={f.priority} onChange={(e) => setF({ ...f, priority: e.target.value as Priority })}>
              {PriorityValues.slice().reverse().map((p) => <option key={p} value={p}>{priorityLabel[p]}</option>)}
            </select>
          </label>
          <label>
            Queue
            <select value={f.queueId} onChange={(e) => setF({ ...f, queueId: e.target.value })}>
              <option value="">Routing decides</option>
              {s.queues.map((q) => <option key={q.id} value={q.id}>{q.name}</option>)}
            </select>
          </label>
          <label>
            Assignee
            <select value={f.assigneeId} onChange={(e) => setF({ ...f, assigneeId: e.target.value })}>
              <option value="">Unassigned</option>
              {s.users.filter((u) => u.active).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
            </select>
          </label>
          <label>
            Source
            <select value={f.source} onChange={(e) => setF({ ...f, source: e.target.value as Source })}>
              {SourceValues.map((x) => <option key={x} value={x}>{x.toLowerCase()}</option>)}
            </select>
          </label>
          <label>Resolution due<input type="datetime-local" value={f.due} onChange={(e) => setF({ ...f, due: e.target.value })} /></label>
        </div>
        <label>Tags (comma-separated)<input value={f.tags} onChange={(e) => setF({ ...f, tags: e.target.value })} /></label>
      </div>
      <div className="panel form" hidden={tab !== 'requester'}>
        <label>
          Requester email
          <input
            type="email"
            list="requester-matches"
            value={f.email}
            onChange={(e) => {
              const m = matches.find((x) => x.email === e.target.value);
              setF({ ...f, email: e.target.value, name: m && !f.name ? m.name : f.name });
            }}
          />
        </label>
        <datalist id="requester-matches">
          {matches.filter((m) => m.email).map((m) => <option key={m.id} value={m.email ?? ''}>{m.name}</option>)}
        </datalist>
        <label>Requester name<input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
        <p className="muted">An existing contact with this email becomes the requester; otherwise a new contact is created.</p>
      </div>
      <div className="panel form" hidden={tab !== 'media'}>
        <label>Attachments<input type="file" multiple onChange={(e) => setFiles(Array.from(e.target.files ?? []))} /></label>
        {files.length > 0 && <ul>{files.map((x) => <li key={x.name}>{x.name}</li>)}</ul>}
      </div>
      <ErrorText error={error} />
      <div className="row">
        <button className="primary" disabled={busy}>Create ticket</button>
      </div>
    </form>
  );
}
