// Admin page: help topics and the defaults they give a new ticket.
import { useState, type FormEvent } from 'react';
import { gql } from '../../api/client';
import type { HelpTopic } from '../../api/schema';
import { PriorityValues } from '../../api/schema';
import { priorityLabel } from '../../lib/format';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const TOPICS = gql`query AdminTopics { helpTopics { id name defaultPriority defaultQueueId defaultAssigneeId dueOffsetMinutes active version } }`;
const SAVE_TOPIC = gql`mutation SaveTopic($id: ID, $input: HelpTopicInput!) { saveHelpTopic(id: $id, input: $input) { id } }`;

function TopicForm({ t, onSaved }: { t: HelpTopic | null; onSaved: () => Promise<void> }) {
  const s = useSession();
  const m = useMutation();
  const [f, setF] = useState({
    name: t?.name ?? '',
    defaultPriority: t?.defaultPriority ?? '',
    defaultQueueId: t?.defaultQueueId ?? '',
    defaultAssigneeId: t?.defaultAssigneeId ?? '',
    dueOffsetMinutes: t?.dueOffsetMinutes?.toString() ?? '',
    active: t?.active ?? true,
  });
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = {
      name: f.name,
      defaultPriority: f.defaultPriority || null,
      defaultQueueId: f.defaultQueueId || null,
      defaultAssigneeId: f.defaultAssigneeId || null,
      dueOffsetMinutes: f.dueOffsetMinutes ? Number(f.dueOffsetMinutes) : null,
      active: f.active,
      // The version this page loaded: a save over another admin's newer one is refused, naming them.
      version: t?.version ?? null,
    };
    void m.run(SAVE_TOPIC, { id: t?.id ?? null, input }, async () => { await onSaved(); if (!t) setF({ ...f, name: '' }); });
  };
  return (
    <form className="row" onSubmit={save} aria-label={t ? `Help topic ${t.name}` : 'New help topic'} style={{ padding: '6px 0', borderBottom: '1px solid var(--line)' }}>
      <label>Name<input required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
      <label>Default priority<select value={f.defaultPriority} onChange={(e) => setF({ ...f, defaultPriority: e.target.value })}><option value="">None</option>{PriorityValues.map((p) => <option key={p} value={p}>{priorityLabel[p]}</option>)}</select></label>
      <label>Default queue<select value={f.defaultQueueId} onChange={(e) => setF({ ...f, defaultQueueId: e.target.value })}><option value="">None</option>{s.queues.map((q) => <option key={q.id} value={q.id}>{q.name}</option>)}</select></label>
      <label>Default assignee<select value={f.defaultAssigneeId} onChange={(e) => setF({ ...f, defaultAssigneeId: e.target.value })}><option value="">None</option>{s.users.map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}</select></label>
      <label>Due after (minutes)<input type="number" min={1} style={{ width: 110 }} value={f.dueOffsetMinutes} onChange={(e) => setF({ ...f, dueOffsetMinutes: e.target.value })} /></label>
      <label className="inline"><input type="checkbox" checked={f.active} onChange={(e) => setF({ ...f, active: e.target.checked })} /> Active</label>
      <button className={t ? '' : 'primary'}>{t ? 'Save' : 'Create help topic'}</button>
      <Feedback error={m.error} notice={m.notice} />
    </form>
  );
}

export function HelpTopicsPage() {
  const s = useSession();
  const { data, error, reload } = useQuery<{ helpTopics: HelpTopic[] }>(TOPICS);
  const after = async () => {
    await reload();
    await s.reload();
  };
  return (
    <Page title="Help topics">
      <ErrorText error={error} />
      <div className="panel">
        <TopicForm t={null} onSaved={after} />
        {data?.helpTopics.map((t) => <TopicForm key={t.id} t={t} onSaved={after} />)}
      </div>
    </Page>
  );
}
