// Admin pages (a separate chunk): queues and members, routing rules, help topics, canned
// responses, SLA policies and business hours, automation rules, webhooks, team members; alerts
// and follow-ups and API tokens live in Settings.tsx.
import { useState, type FormEvent } from 'react';
import { gql, request } from '../../api/client';
import type {
  AssignmentMode, AutomationRuleReport, Calendar, CannedResponse, ClauseField, ClauseOp, HelpTopic, MemberRole, Priority, Queue,
  Role, RoutingActionType, RoutingRule, RuleJoin, SlaPolicy, User, Webhook, WebhookDelivery, WebhookEvent, Weekday,
} from '../../api/schema';
import {
  AssignmentModeValues, ClauseFieldValues, ClauseOpValues, MemberRoleValues, PriorityValues, RoleValues,
  RoutingActionTypeValues, WebhookEventValues, WeekdayValues,
} from '../../api/schema';
import { formatDate, priorityLabel } from '../../lib/format';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';
import { AlertsPage, ApiTokensPage } from './Settings';

// ---------------------------------------------------------------- queues

const QUEUES = gql`
  query AdminQueues { queues { id name isDefault assignmentMode members { user { id name } email role weight onBreak } } users { id name active } }
`;
const SAVE_QUEUE = gql`mutation SaveQueue($id: ID, $input: QueueInput!) { saveQueue(id: $id, input: $input) { id } }`;
const DELETE_QUEUE = gql`mutation DeleteQueue($id: ID!) { deleteQueue(id: $id) }`;
const SET_MEMBER = gql`
  mutation SetMember($q: ID!, $u: ID!, $role: MemberRole, $weight: Int, $onBreak: Boolean) {
    setQueueMember(queueId: $q, userId: $u, role: $role, weight: $weight, onBreak: $onBreak) { email }
  }
`;
const REMOVE_MEMBER = gql`mutation RemoveMember($q: ID!, $u: ID!) { removeQueueMember(queueId: $q, userId: $u) { email } }`;

function Queues() {
  const s = useSession();
  const { data, error, reload } = useQuery<{ queues: Queue[]; users: Pick<User, 'id' | 'name' | 'active'>[] }>(QUEUES);
  const m = useMutation();
  const [name, setName] = useState('');
  const [mode, setMode] = useState<AssignmentMode>('MANUAL');
  const after = async () => {
    await reload();
    await s.reload();
  };
  return (
    <Page title="Queues">
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      <form className="row panel" onSubmit={(e) => { e.preventDefault(); void m.run(SAVE_QUEUE, { input: { name, assignmentMode: mode } }, after, 'Queue created').then(() => setName('')); }}>
        <label>New queue name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Assignment<select value={mode} onChange={(e) => setMode(e.target.value as AssignmentMode)}>{AssignmentModeValues.map((v) => <option key={v} value={v}>{v.toLowerCase().replace('_', ' ')}</option>)}</select></label>
        <button className="primary">Create queue</button>
      </form>
      {data?.queues.map((q) => (
        <div className="panel" key={q.id} style={{ marginTop: 12 }} aria-label={`Queue ${q.name}`}>
          <div className="row spread">
            <form
              className="row"
              aria-label={`Rename ${q.name}`}
              onSubmit={(e) => {
                e.preventDefault();
                const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
                if (name && name !== q.name) void m.run(SAVE_QUEUE, { id: q.id, input: { name, isDefault: q.isDefault, assignmentMode: q.assignmentMode } }, after, 'Queue renamed');
              }}
            >
              <h2 style={{ margin: 0 }}>{q.name}</h2>
              {q.isDefault && <span className="badge status-OPEN">Default</span>}
              <input name="name" aria-label="Queue name" defaultValue={q.name} style={{ width: 160 }} />
              <button>Rename</button>
            </form>
            <div className="row">
              <label className="inline">
                Assignment
                <select value={q.assignmentMode} onChange={(e) => void m.run(SAVE_QUEUE, { id: q.id, input: { name: q.name, isDefault: q.isDefault, assignmentMode: e.target.value } }, after)}>
                  {AssignmentModeValues.map((v) => <option key={v} value={v}>{v.toLowerCase().replace('_', ' ')}</option>)}
                </select>
              </label>
              {!q.isDefault && <button type="button" onClick={() => void m.run(SAVE_QUEUE, { id: q.id, input: { name: q.name, assignmentMode: q.assignmentMode, isDefault: true } }, after)}>Make default</button>}
              {!q.isDefault && <button type="button" className="danger" onClick={() => void m.run(DELETE_QUEUE, { id: q.id }, after, 'Queue deleted')}>Delete</button>}
            </div>
          </div>
          <table>
            <thead><tr><th>Member</th><th>Role</th><th>Weight</th><th>On break</th><th /></tr></thead>
            <tbody>
              {q.members.map((mem) => (
                <tr key={mem.user.id}>
                  <td>{mem.user.name} <span className="muted">{mem.email}</span></td>
                  <td>
                    <select aria-label={`Role of ${mem.user.name}`} value={mem.role} onChange={(e) => void m.run(SET_MEMBER, { q: q.id, u: mem.user.id, role: e.target.value as MemberRole }, reload)}>
                      {MemberRoleValues.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}
                    </select>
                  </td>
                  <td>
                    <input aria-label={`Weight of ${mem.user.name}`} type="number" min={0} defaultValue={mem.weight} style={{ width: 70 }} onBlur={(e) => Number(e.target.value) !== mem.weight && void m.run(SET_MEMBER, { q: q.id, u: mem.user.id, weight: Number(e.target.value) }, reload)} />
                  </td>
                  <td>
                    <input type="checkbox" aria-label={`${mem.user.name} on break`} checked={mem.onBreak} onChange={(e) => void m.run(SET_MEMBER, { q: q.id, u: mem.user.id, onBreak: e.target.checked }, reload)} />
                  </td>
                  <td><button type="button" onClick={() => void m.run(REMOVE_MEMBER, { q: q.id, u: mem.user.id }, reload, 'Member removed')}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row" style={{ marginTop: 8 }}>
            <label className="inline">
              Add member
              <select value="" onChange={(e) => e.target.value && void m.run(SET_MEMBER, { q: q.id, u: e.target.value, role: 'MEMBER' }, reload, 'Member added')}>
                <option value="">Choose…</option>
                {data.users.filter((u) => u.active && !q.members.some((x) => x.user.id === u.id)).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
              </select>
            </label>
          </div>
        </div>
      ))}
    </Page>
  );
}

// ---------------------------------------------------------------- routing rules

const RULES = gql`
  query AdminRouting { routingRules { id name enabled position join clauses { field op value } actions { type queueId userId priority tag } createdAt updatedAt } }
`;
const SAVE_RULE = gql`mutation SaveRule($id: ID, $input: RoutingRuleInput!) { saveRoutingRule(id: $id, input: $input) { id } }`;
const DELETE_RULE = gql`mutation DeleteRule($id: ID!) { deleteRoutingRule(id: $id) }`;
const REORDER = gql`mutation Reorder($ids: [ID!]!) { reorderRoutingRules(ruleIds: $ids) { id } }`;

type ClauseDraft = { field: ClauseField; op: ClauseOp; value: string };
type ActionDraft = { type: RoutingActionType; queueId?: string | null; userId?: string | null; priority?: Priority | null; tag?: string | null };

function RuleEditor({ rule, onSaved, onCancel }: { rule: RoutingRule | null; onSaved: () => void; onCancel: () => void }) {
  const s = useSession();
  const m = useMutation();
  const [name, setName] = useState(rule?.name ?? '');
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [join, setJoin] = useState<RuleJoin>(rule?.join ?? 'AND');
  const [clauses, setClauses] = useState<ClauseDraft[]>(rule?.clauses.map((c) => ({ ...c })) ?? [{ field: 'PRIORITY', op: 'IS', value: 'urgent' }]);
  const [actions, setActions] = useState<ActionDraft[]>(
    rule?.actions.map((a) => ({ type: a.type, queueId: a.queueId, userId: a.userId, priority: a.priority, tag: a.tag })) ?? [{ type: 'ESCALATE' }],
  );
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = {
      name,
      enabled,
      join,
      clauses,
      actions: actions.map((a) => ({
        type: a.type,
        queueId: a.type === 'ASSIGN_TO_QUEUE' || a.type === 'REASSIGN_QUEUE' ? a.queueId : null,
        userId: a.type === 'ASSIGN_TO_USER' ? a.userId : null,
        priority: a.type === 'SET_PRIORITY' ? a.priority : null,
        tag: a.type === 'ADD_TAG' ? a.tag : null,
      })),
    };
    void m.run(SAVE_RULE, { id: rule?.id ?? null, input }, onSaved);
  };
  return (
    <form className="panel form" onSubmit={save} aria-label="Routing rule">
      <div className="row">
        <label>Rule name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Join<select value={join} onChange={(e) => setJoin(e.target.value as RuleJoin)}><option value="AND">All conditions (AND)</option><option value="OR">Any condition (OR)</option></select></label>
        <label className="inline"><input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled</label>
      </div>
      <strong>Conditions</strong>
      {clauses.map((c, i) => (
        <div className="row" key={i}>
          <select aria-label="Field" value={c.field} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, field: e.target.value as ClauseField } : x)))}>
            {ClauseFieldValues.map((v) => <option key={v} value={v}>{v.toLowerCase().replace('_', ' ')}</option>)}
          </select>
          <select aria-label="Operator" value={c.op} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, op: e.target.value as ClauseOp } : x)))}>
            {ClauseOpValues.map((v) => <option key={v} value={v}>{v.toLowerCase().replace('_', ' ')}</option>)}
          </select>
          {c.field === 'HELP_TOPIC' ? (
            <select aria-label="Value" value={c.value} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}>
              <option value="">Choose…</option>
              {s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
          ) : (
            <input aria-label="Value" required value={c.value} placeholder={c.field === 'PRIORITY' ? 'urgent, high, normal, low' : ''} onChange={(e) => setClauses(clauses.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
          )}
          <button type="button" aria-label="Remove condition" onClick={() => setClauses(clauses.filter((_, j) => j !== i))}>✕</button>
        </div>
      ))}
      <div><button type="button" onClick={() => setClauses([...clauses, { field: 'TAG', op: 'IS', value: '' }])}>Add condition</button></div>
      <strong>Actions</strong>
      {actions.map((a, i) => {
        const up = (p: Partial<ActionDraft>) => setActions(actions.map((x, j) => (j === i ? { ...x, ...p } : x)));
        return (
          <div className="row" key={i}>
            <select aria-label="Action" value={a.type} onChange={(e) => up({ type: e.target.value as RoutingActionType })}>
              {RoutingActionTypeValues.map((v) => <option key={v} value={v}>{v.toLowerCase().replace(/_/g, ' ')}</option>)}
            </select>
            {(a.type === 'ASSIGN_TO_QUEUE' || a.type === 'REASSIGN_QUEUE') && (
              <select aria-label="Queue" value={a.queueId ?? ''} onChange={(e) => up({ queueId: e.target.value })}>
                <option value="">Choose…</option>
                {s.queues.map((q) => <option key={q.id} value={q.id}>{q.name}</option>)}
              </select>
            )}
            {a.type === 'ASSIGN_TO_USER' && (
              <select aria-label="Assignee" value={a.userId ?? ''} onChange={(e) => up({ userId: e.target.value })}>
                <option value="">Choose…</option>
                {s.users.filter((u) => u.active).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
              </select>
            )}
            {a.type === 'SET_PRIORITY' && (
              <select aria-label="Priority" value={a.priority ?? ''} onChange={(e) => up({ priority: e.target.value as Priority })}>
                <option value="">Choose…</option>
                {PriorityValues.map((p) => <option key={p} value={p}>{priorityLabel[p]}</option>)}
              </select>
            )}
            {a.type === 'ADD_TAG' && <input aria-label="Tag" value={a.tag ?? ''} onChange={(e) => up({ tag: e.target.value })} />}
            <button type="button" aria-label="Remove action" onClick={() => setActions(actions.filter((_, j) => j !== i))}>✕</button>
          </div>
        );
      })}
      <div><button type="button" onClick={() => setActions([...actions, { type: 'ADD_TAG', tag: '' }])}>Add action</button></div>
      <Feedback error={m.error} notice="" />
      <div className="row"><button className="primary">Save rule</button><button type="button" onClick={onCancel}>Cancel</button></div>
    </form>
  );
}

function Routing() {
  const { data, error, reload } = useQuery<{ routingRules: RoutingRule[] }>(RULES);
  const m = useMutation();
  const [editing, setEditing] = useState<RoutingRule | 'new' | null>(null);
  const rules = data?.routingRules ?? [];
  const move = (i: number, d: number) => {
    const ids = rules.map((r) => r.id);
    [ids[i], ids[i + d]] = [ids[i + d], ids[i]];
    void m.run(REORDER, { ids }, reload, 'Order saved');
  };
  return (
    <Page title="Routing rules">
      <p className="muted">The first enabled rule that matches, from the top, routes a ticket when it opens and when a routed field changes.</p>
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      {editing ? (
        <RuleEditor key={editing === 'new' ? 'new' : editing.id} rule={editing === 'new' ? null : editing} onCancel={() => setEditing(null)} onSaved={() => { setEditing(null); void reload(); }} />
      ) : (
        <button className="primary" type="button" onClick={() => setEditing('new')}>New routing rule</button>
      )}
      <table style={{ marginTop: 12 }}>
        <thead><tr><th>#</th><th>Rule</th><th>When</th><th>Then</th><th /></tr></thead>
        <tbody>
          {rules.map((r, i) => (
            <tr key={r.id}>
              <td>{i + 1}</td>
              <td>{r.name} {!r.enabled && <span className="badge status-CLOSED">Disabled</span>}</td>
              <td>{r.clauses.map((c) => `${c.field.toLowerCase()} ${c.op.toLowerCase().replace('_', ' ')} ${c.value}`).join(r.join === 'AND' ? ' and ' : ' or ')}</td>
              <td>{r.actions.map((a) => a.type.toLowerCase().replace(/_/g, ' ')).join(', ')}</td>
              <td className="row">
                <button type="button" disabled={i === 0} aria-label={`Move ${r.name} up`} onClick={() => move(i, -1)}>↑</button>
                <button type="button" disabled={i === rules.length - 1} aria-label={`Move ${r.name} down`} onClick={() => move(i, 1)}>↓</button>
                <button type="button" onClick={() => setEditing(r)}>Edit</button>
                <button type="button" className="danger" onClick={() => void m.run(DELETE_RULE, { id: r.id }, reload, 'Rule deleted')}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

// ---------------------------------------------------------------- help topics

const TOPICS = gql`query AdminTopics { helpTopics { id name defaultPriority defaultQueueId defaultAssigneeId dueOffsetMinutes active } }`;
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

function Topics() {
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

// ---------------------------------------------------------------- canned responses

const CANNED = gql`query AdminCanned { cannedResponses { id title shortcut body helpTopicId updatedAt } cannedResponseVariables }`;
const SAVE_CANNED = gql`mutation SaveCanned($id: ID, $input: CannedResponseInput!) { saveCannedResponse(id: $id, input: $input) { id } }`;
const DELETE_CANNED = gql`mutation DeleteCanned($id: ID!) { deleteCannedResponse(id: $id) }`;

function Canned() {
  const s = useSession();
  const { data, error, reload } = useQuery<{ cannedResponses: CannedResponse[]; cannedResponseVariables: string[] }>(CANNED);
  const m = useMutation();
  const [edit, setEdit] = useState<{ id: string | null; title: string; shortcut: string; body: string; helpTopicId: string } | null>(null);
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (!edit) return;
    const input = { title: edit.title, shortcut: edit.shortcut || null, body: edit.body, helpTopicId: edit.helpTopicId || null };
    void m.run(SAVE_CANNED, { id: edit.id, input }, async () => { setEdit(null); await reload(); });
  };
  return (
    <Page title="Canned responses">
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      {edit ? (
        <form className="panel form" onSubmit={save} aria-label="Canned response">
          <div className="grid2">
            <label>Title<input required value={edit.title} onChange={(e) => setEdit({ ...edit, title: e.target.value })} /></label>
            <label>Shortcut<input value={edit.shortcut} onChange={(e) => setEdit({ ...edit, shortcut: e.target.value })} /></label>
          </div>
          <label>Scope<select value={edit.helpTopicId} onChange={(e) => setEdit({ ...edit, helpTopicId: e.target.value })}><option value="">Global</option>{s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}</select></label>
          <label>Template<textarea required value={edit.body} onChange={(e) => setEdit({ ...edit, body: e.target.value })} /></label>
          <p className="muted">Variables: {data?.cannedResponseVariables.map((v) => `{{${v}}}`).join(', ')}</p>
          <div className="row"><button className="primary">Save</button><button type="button" onClick={() => setEdit(null)}>Cancel</button></div>
        </form>
      ) : (
        <button type="button" className="primary" onClick={() => setEdit({ id: null, title: '', shortcut: '', body: '', helpTopicId: '' })}>New canned response</button>
      )}
      <table style={{ marginTop: 12 }}>
        <thead><tr><th>Title</th><th>Shortcut</th><th>Scope</th><th>Template</th><th /></tr></thead>
        <tbody>
          {data?.cannedResponses.map((c) => (
            <tr key={c.id}>
              <td>{c.title}</td>
              <td>{c.shortcut}</td>
              <td>{c.helpTopicId ? s.topics.find((t) => t.id === c.helpTopicId)?.name : 'Global'}</td>
              <td style={{ whiteSpace: 'pre-wrap', maxWidth: 420 }}>{c.body}</td>
              <td className="row">
                <button type="button" onClick={() => setEdit({ id: c.id, title: c.title, shortcut: c.shortcut ?? '', body: c.body, helpTopicId: c.helpTopicId ?? '' })}>Edit</button>
                <button type="button" className="danger" onClick={() => void m.run(DELETE_CANNED, { id: c.id }, reload, 'Deleted')}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

// ---------------------------------------------------------------- SLA policies and business hours

const SLA = gql`
  query AdminSla {
    slaPolicies { id name priority helpTopicId firstResponseMinutes resolutionMinutes calendarId createdAt updatedAt }
    calendars { id name timeZone schedule { weekday opens closes } holidays createdAt updatedAt }
    slaSettings { atRiskPercent alertOnBreach }
  }
`;
const SAVE_POLICY = gql`mutation SavePolicy($id: ID, $input: SlaPolicyInput!) { saveSlaPolicy(id: $id, input: $input) { id } }`;
const DELETE_POLICY = gql`mutation DeletePolicy($id: ID!) { deleteSlaPolicy(id: $id) }`;
const SAVE_CALENDAR = gql`mutation SaveCalendar($id: ID, $input: CalendarInput!) { saveCalendar(id: $id, input: $input) { id } }`;
const DELETE_CALENDAR = gql`mutation DeleteCalendar($id: ID!) { deleteCalendar(id: $id) }`;
const SAVE_SLA_SETTINGS = gql`mutation SaveSlaSettings($input: SlaSettingsInput!) { saveSlaSettings(input: $input) { atRiskPercent } }`;

function PolicyForm({ p, calendars, onSaved }: { p: SlaPolicy | null; calendars: Calendar[]; onSaved: () => Promise<void> }) {
  const s = useSession();
  const m = useMutation();
  const [f, setF] = useState({
    name: p?.name ?? '',
    priority: p?.priority ?? ('NORMAL' as Priority),
    helpTopicId: p?.helpTopicId ?? '',
    firstResponseMinutes: String(p?.firstResponseMinutes ?? 60),
    resolutionMinutes: String(p?.resolutionMinutes ?? 480),
    calendarId: p?.calendarId ?? '',
  });
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = { ...f, helpTopicId: f.helpTopicId || null, calendarId: f.calendarId || null, firstResponseMinutes: Number(f.firstResponseMinutes), resolutionMinutes: Number(f.resolutionMinutes) };
    void m.run(SAVE_POLICY, { id: p?.id ?? null, input }, onSaved);
  };
  return (
    <form className="row" onSubmit={save} aria-label={p ? `SLA policy ${p.name}` : 'New SLA policy'} style={{ padding: '6px 0', borderBottom: '1px solid var(--line)' }}>
      <label>Name<input required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
      <label>Priority<select value={f.priority} onChange={(e) => setF({ ...f, priority: e.target.value as Priority })}>{PriorityValues.map((x) => <option key={x} value={x}>{priorityLabel[x]}</option>)}</select></label>
      <label>Help topic<select value={f.helpTopicId} onChange={(e) => setF({ ...f, helpTopicId: e.target.value })}><option value="">Every topic</option>{s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}</select></label>
      <label>First response (min)<input type="number" min={5} style={{ width: 100 }} value={f.firstResponseMinutes} onChange={(e) => setF({ ...f, firstResponseMinutes: e.target.value })} /></label>
      <label>Resolution (min)<input type="number" min={5} style={{ width: 100 }} value={f.resolutionMinutes} onChange={(e) => setF({ ...f, resolutionMinutes: e.target.value })} /></label>
      <label>Business hours<select value={f.calendarId} onChange={(e) => setF({ ...f, calendarId: e.target.value })}><option value="">Round the clock</option>{calendars.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}</select></label>
      <button className={p ? '' : 'primary'}>{p ? 'Save' : 'Create policy'}</button>
      {p && <button type="button" className="danger" onClick={() => void m.run(DELETE_POLICY, { id: p.id }, onSaved)}>Delete</button>}
      <Feedback error={m.error} notice={m.notice} />
    </form>
  );
}

function CalendarForm({ c, onSaved }: { c: Calendar | null; onSaved: () => Promise<void> }) {
  const m = useMutation();
  const [name, setName] = useState(c?.name ?? '');
  const [tz, setTz] = useState(c?.timeZone ?? 'UTC');
  const [hours, setHours] = useState<Record<Weekday, { on: boolean; opens: string; closes: string }>>(() =>
    Object.fromEntries(
      WeekdayValues.map((d) => {
        const h = c?.schedule.find((x) => x.weekday === d);
        return [d, { on: c ? !!h : !['SATURDAY', 'SUNDAY'].includes(d), opens: h?.opens ?? '09:00', closes: h?.closes ?? '17:00' }];
      }),
    ) as Record<Weekday, { on: boolean; opens: string; closes: string }>,
  );
  const [holidays, setHolidays] = useState((c?.holidays ?? []).join(', '));
  const save = (e: FormEvent) => {
    e.preventDefault();
    const schedule = WeekdayValues.filter((d) => hours[d].on).map((d) => ({ weekday: d, opens: hours[d].opens, closes: hours[d].closes }));
    const input = { name, timeZone: tz, schedule, holidays: holidays.split(',').map((x) => x.trim()).filter(Boolean) };
    void m.run(SAVE_CALENDAR, { id: c?.id ?? null, input }, onSaved);
  };
  return (
    <form className="panel form" onSubmit={save} aria-label={c ? `Business hours ${c.name}` : 'New business hours'} style={{ marginTop: 8 }}>
      <div className="row">
        <label>Calendar name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Time zone<input required value={tz} onChange={(e) => setTz(e.target.value)} /></label>
      </div>
      {WeekdayValues.map((d) => (
        <div className="row" key={d}>
          <label className="inline" style={{ width: 130 }}><input type="checkbox" checked={hours[d].on} onChange={(e) => setHours({ ...hours, [d]: { ...hours[d], on: e.target.checked } })} /> {d.charAt(0) + d.slice(1).toLowerCase()}</label>
          <input aria-label={`${d} opens`} value={hours[d].opens} disabled={!hours[d].on} style={{ width: 80 }} onChange={(e) => setHours({ ...hours, [d]: { ...hours[d], opens: e.target.value } })} />–
          <input aria-label={`${d} closes`} value={hours[d].closes} disabled={!hours[d].on} style={{ width: 80 }} onChange={(e) => setHours({ ...hours, [d]: { ...hours[d], closes: e.target.value } })} />
        </div>
      ))}
      <label>Holidays (YYYY-MM-DD, comma-separated)<input value={holidays} onChange={(e) => setHolidays(e.target.value)} /></label>
      <div className="row">
        <button className="primary">{c ? 'Save business hours' : 'Create business hours'}</button>
        {/* Refused while an SLA policy counts in these hours; the error names the policies. */}
        {c && <button type="button" className="danger" onClick={() => void m.run(DELETE_CALENDAR, { id: c.id }, onSaved)}>Delete business hours</button>}
        <Feedback error={m.error} notice={m.notice} />
      </div>
    </form>
  );
}

function Sla() {
  const { data, error, reload } = useQuery<{ slaPolicies: SlaPolicy[]; calendars: Calendar[]; slaSettings: { atRiskPercent: number; alertOnBreach: boolean } }>(SLA);
  const m = useMutation();
  return (
    <Page title="SLA policies and business hours">
      <ErrorText error={error} />
      <div className="panel">
        <h2 style={{ marginTop: 0 }}>SLA policies</h2>
        {data && <PolicyForm p={null} calendars={data.calendars} onSaved={reload} />}
        {data?.slaPolicies.map((p) => <PolicyForm key={p.id} p={p} calendars={data.calendars} onSaved={reload} />)}
      </div>
      {data && (
        <form className="panel row" style={{ marginTop: 12 }} onSubmit={(e) => {
          e.preventDefault();
          const fd = new FormData(e.currentTarget);
          void m.run(SAVE_SLA_SETTINGS, { input: { atRiskPercent: Number(fd.get('risk')), alertOnBreach: fd.get('alert') === 'on' } }, reload);
        }}>
          <label>At risk below (% of the target's time left)<input name="risk" type="number" min={1} max={99} defaultValue={data.slaSettings.atRiskPercent} /></label>
          <label className="inline"><input name="alert" type="checkbox" defaultChecked={data.slaSettings.alertOnBreach} /> Notify managers when a target is missed</label>
          <button>Save SLA settings</button>
          <Feedback error={m.error} notice={m.notice} />
        </form>
      )}
      <h2>Business hours</h2>
      <CalendarForm c={null} onSaved={reload} />
      {data?.calendars.map((c) => <CalendarForm key={c.id + c.updatedAt} c={c} onSaved={reload} />)}
    </Page>
  );
}

// ---------------------------------------------------------------- automation rules

const AUTOMATION = gql`query AdminAutomation { automationRules }`;
const SAVE_AUTOMATION = gql`
  mutation SaveAutomation($rules: String!, $dropInvalid: Boolean) {
    saveAutomationRules(rules: $rules, dropInvalid: $dropInvalid) { saved rules reports { index id accepted errors { code message field } } }
  }
`;

function Automation() {
  const s = useSession();
  const { data, error } = useQuery<{ automationRules: string }>(AUTOMATION);
  const [text, setText] = useState<string | null>(null);
  const [dropInvalid, setDropInvalid] = useState(false);
  const [result, setResult] = useState<{ saved: boolean; reports: AutomationRuleReport[] } | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const value = text ?? (data ? JSON.stringify(JSON.parse(data.automationRules), null, 2) : '');
  const save = async () => {
    try {
      JSON.parse(value);
    } catch (e) {
      setSaveError(new Error(`Not valid JSON: ${(e as Error).message}`));
      return;
    }
    try {
      const r = await request<{ saveAutomationRules: { saved: boolean; rules: string; reports: AutomationRuleReport[] } }>(s.token, SAVE_AUTOMATION, { rules: value, dropInvalid });
      setResult(r.saveAutomationRules);
      setSaveError(null);
      if (r.saveAutomationRules.saved) setText(JSON.stringify(JSON.parse(r.saveAutomationRules.rules), null, 2));
    } catch (e) {
      setSaveError(e);
    }
  };
  return (
    <Page title="Automation rules">
      <p className="muted">A JSON array of rules (triggers: ticket_opened, ticket_escalated, message_contains, csat_negative, sla_breach; actions: add_tag, escalate, assign_round_robin, set_priority, notify). The server validates every rule.</p>
      <ErrorText error={error} />
      <label>
        Rules (JSON)
        <textarea className="json" spellCheck={false} value={value} onChange={(e) => setText(e.target.value)} />
      </label>
      <div className="row" style={{ marginTop: 8 }}>
        <button className="primary" type="button" onClick={() => void save()}>Validate and save</button>
        <label className="inline"><input type="checkbox" checked={dropInvalid} onChange={(e) => setDropInvalid(e.target.checked)} /> Save the valid rules even if some are invalid</label>
      </div>
      <ErrorText error={saveError} />
      {result && (
        <div className="panel" style={{ marginTop: 12 }} aria-label="Validation report">
          <p className={result.saved ? 'ok' : 'error'} role="status">{result.saved ? 'Saved.' : 'Nothing saved: fix the rules marked below.'}</p>
          <table>
            <thead><tr><th>#</th><th>Rule</th><th>Result</th><th>Problems</th></tr></thead>
            <tbody>
              {result.reports.map((r) => (
                <tr key={r.index}>
                  <td>{r.index}</td>
                  <td>{r.id ?? '—'}</td>
                  <td>{r.accepted ? <span className="badge status-RESOLVED">Valid</span> : <span className="badge priority-URGENT">Invalid</span>}</td>
                  <td>{r.errors.map((e, i) => <div key={i}><code>{e.field}</code> {e.message}</div>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

// ---------------------------------------------------------------- webhooks

const WEBHOOKS = gql`
  query AdminWebhooks {
    webhooks { id name url enabled events createdAt updatedAt deliveries(first: 20) { id event status attempts responseStatus latencyMs lastError createdAt deliveredAt nextAttemptAt } }
  }
`;
const SAVE_WEBHOOK = gql`mutation SaveWebhook($id: ID, $input: WebhookInput!) { saveWebhook(id: $id, input: $input) { secret webhook { id } } }`;
const DELETE_WEBHOOK = gql`mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) }`;
const TEST_WEBHOOK = gql`mutation TestWebhook($id: ID!) { sendTestWebhook(id: $id) }`;

function Webhooks() {
  const { data, error, reload } = useQuery<{ webhooks: (Webhook & { deliveries: WebhookDelivery[] })[] }>(WEBHOOKS);
  const m = useMutation();
  const [f, setF] = useState({ name: '', url: '', events: ['TICKET_OPENED'] as WebhookEvent[] });
  const [secret, setSecret] = useState<string | null>(null);
  const create = (e: FormEvent) => {
    e.preventDefault();
    void m.run<{ saveWebhook: { secret: string | null } }>(SAVE_WEBHOOK, { input: f }, async (d) => {
      setSecret(d.saveWebhook.secret);
      setF({ name: '', url: '', events: ['TICKET_OPENED'] });
      await reload();
    }, 'Webhook created');
  };
  return (
    <Page title="Webhooks">
      <ErrorText error={error} />
      <form className="panel form" onSubmit={create} aria-label="New webhook">
        <div className="grid2">
          <label>Name<input required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
          <label>URL<input required type="url" value={f.url} onChange={(e) => setF({ ...f, url: e.target.value })} /></label>
        </div>
        <fieldset className="row" style={{ border: 'none', padding: 0 }}>
          <legend className="muted">Events</legend>
          {WebhookEventValues.map((ev) => (
            <label className="inline" key={ev}>
              <input type="checkbox" checked={f.events.includes(ev)} onChange={(e) => setF({ ...f, events: e.target.checked ? [...f.events, ev] : f.events.filter((x) => x !== ev) })} />
              {ev.toLowerCase().replace('_', '.')}
            </label>
          ))}
        </fieldset>
        <div className="row"><button className="primary">Create webhook</button></div>
        <Feedback error={m.error} notice={m.notice} />
        {secret && <p className="ok">Signing secret (shown once): <code>{secret}</code></p>}
      </form>
      {data?.webhooks.map((w) => (
        <div className="panel" key={w.id} style={{ marginTop: 12 }} aria-label={`Webhook ${w.name}`}>
          <div className="row spread">
            <div>
              <strong>{w.name}</strong> {!w.enabled && <span className="badge status-CLOSED">Disabled</span>}
              <div className="muted">{w.url} · {w.events.map((e) => e.toLowerCase().replace('_', '.')).join(', ')}</div>
            </div>
            <div className="row">
              <button type="button" onClick={() => void m.run(SAVE_WEBHOOK, { id: w.id, input: { name: w.name, url: w.url, events: w.events, enabled: !w.enabled } }, reload)}>{w.enabled ? 'Disable' : 'Enable'}</button>
              <button type="button" onClick={() => void m.run(TEST_WEBHOOK, { id: w.id }, reload, 'Test delivery queued')}>Send test</button>
              <button type="button" onClick={() => void reload()}>Refresh log</button>
              <button type="button" className="danger" onClick={() => void m.run(DELETE_WEBHOOK, { id: w.id }, reload, 'Webhook deleted')}>Delete</button>
            </div>
          </div>
          <table style={{ marginTop: 8 }} aria-label="Delivery log">
            <thead><tr><th>When</th><th>Event</th><th>Status</th><th>Attempts</th><th>HTTP</th><th>Latency</th><th>Error</th></tr></thead>
            <tbody>
              {w.deliveries.length === 0 && <tr><td colSpan={7} className="muted">No deliveries yet.</td></tr>}
              {w.deliveries.map((d) => (
                <tr key={d.id}>
                  <td>{formatDate(d.createdAt)}</td>
                  <td>{d.event}</td>
                  <td><span className={`badge ${d.status === 'DELIVERED' ? 'status-RESOLVED' : d.status === 'FAILED' ? 'priority-URGENT' : 'status-IN_PROGRESS'}`}>{d.status.toLowerCase()}</span>{d.nextAttemptAt && <div className="muted">next {formatDate(d.nextAttemptAt)}</div>}</td>
                  <td>{d.attempts}</td>
                  <td>{d.responseStatus ?? '—'}</td>
                  <td>{d.latencyMs != null ? `${d.latencyMs} ms` : '—'}</td>
                  <td>{d.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </Page>
  );
}

// ---------------------------------------------------------------- team members

const TEAM = gql`query AdminTeam { users { id email name role active permissions createdAt } }`;
const CREATE_USER = gql`mutation CreateUser($input: UserInput!) { createUser(input: $input) { id } }`;
const UPDATE_USER = gql`mutation UpdateUser($id: ID!, $input: UserPatchInput!) { updateUser(id: $id, input: $input) { id } }`;

function Team() {
  const s = useSession();
  const { data, error, reload } = useQuery<{ users: User[] }>(TEAM);
  const m = useMutation();
  const [f, setF] = useState({ email: '', name: '', role: 'AGENT' as Role, password: '' });
  const after = async () => {
    await reload();
    await s.reload();
  };
  return (
    <Page title="Team members">
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      <form className="panel row" aria-label="Add a team member" onSubmit={(e) => { e.preventDefault(); void m.run(CREATE_USER, { input: { ...f, password: f.password || null } }, async () => { setF({ email: '', name: '', role: 'AGENT', password: '' }); await after(); }, 'Team member added'); }}>
        <label>Name<input required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
        <label>Email<input required type="email" value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} /></label>
        <label>Role<select value={f.role} onChange={(e) => setF({ ...f, role: e.target.value as Role })}>{RoleValues.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}</select></label>
        <label>Password<input type="password" autoComplete="new-password" value={f.password} onChange={(e) => setF({ ...f, password: e.target.value })} /></label>
        <button className="primary">Add team member</button>
      </form>
      <table style={{ marginTop: 12 }}>
        <thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Permissions</th><th>Active</th></tr></thead>
        <tbody>
          {data?.users.map((u) => (
            <tr key={u.id}>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td>
                <select aria-label={`Role of ${u.name}`} value={u.role} disabled={u.id === s.me.userId} onChange={(e) => void m.run(UPDATE_USER, { id: u.id, input: { role: e.target.value } }, after)}>
                  {RoleValues.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}
                </select>
              </td>
              <td className="muted">{u.permissions.join(', ')}</td>
              <td><input type="checkbox" aria-label={`${u.name} active`} checked={u.active} disabled={u.id === s.me.userId} onChange={(e) => void m.run(UPDATE_USER, { id: u.id, input: { active: e.target.checked } }, after)} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

// ---------------------------------------------------------------- suggested macros

const MACROS = gql`query AdminMacros { macroSuggestions { id body occurrences ticketCount createdAt } }`;
const ACCEPT_MACRO = gql`
  mutation AcceptMacro($id: ID!, $title: String!, $shortcut: String!) { acceptMacroSuggestion(id: $id, title: $title, shortcut: $shortcut) { id } }
`;
const DISMISS_MACRO = gql`mutation DismissMacro($id: ID!) { dismissMacroSuggestion(id: $id) }`;

function Macros() {
  const { data, error, reload } = useQuery<{ macroSuggestions: { id: string; body: string; occurrences: number; ticketCount: number; createdAt: string }[] }>(MACROS);
  const m = useMutation();
  const [names, setNames] = useState<Record<string, { title: string; shortcut: string }>>({});
  return (
    <Page title="Suggested macros">
      <p className="muted">Staff replies repeated across closed tickets. Accepting one makes it a canned response.</p>
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      {data?.macroSuggestions.length === 0 && <p className="panel">No suggestions right now.</p>}
      {data?.macroSuggestions.map((x) => {
        const n = names[x.id] ?? { title: '', shortcut: '' };
        const set = (p: Partial<typeof n>) => setNames({ ...names, [x.id]: { ...n, ...p } });
        return (
          <form key={x.id} className="panel form" style={{ marginTop: 8 }} aria-label="Suggested macro" onSubmit={(e) => { e.preventDefault(); void m.run(ACCEPT_MACRO, { id: x.id, ...n }, reload, 'Canned response created'); }}>
            <div className="muted">Used {x.occurrences} times on {x.ticketCount} tickets</div>
            <div style={{ whiteSpace: 'pre-wrap' }}>{x.body}</div>
            <div className="row">
              <label>Title<input required value={n.title} onChange={(e) => set({ title: e.target.value })} /></label>
              <label>Shortcut<input required value={n.shortcut} onChange={(e) => set({ shortcut: e.target.value })} /></label>
              <button className="primary">Accept</button>
              <button type="button" onClick={() => void m.run(DISMISS_MACRO, { id: x.id }, reload, 'Dismissed')}>Dismiss</button>
            </div>
          </form>
        );
      })}
    </Page>
  );
}

export default function AdminPage({ path }: { path: string }) {
  switch (path) {
    case '/admin/routing':
      return <Routing />;
    case '/admin/topics':
      return <Topics />;
    case '/admin/canned':
      return <Canned />;
    case '/admin/sla':
      return <Sla />;
    case '/admin/automation':
      return <Automation />;
    case '/admin/webhooks':
      return <Webhooks />;
    case '/admin/team':
      return <Team />;
    case '/admin/macros':
      return <Macros />;
    case '/admin/alerts':
      return <AlertsPage />;
    case '/admin/tokens':
      return <ApiTokensPage />;
    default:
      return <Queues />;
  }
}
