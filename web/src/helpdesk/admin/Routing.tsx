// Admin page: routing rules, which place new tickets by their fields, in order.
import { useState, type FormEvent } from 'react';
import { gql } from '../../api/client';
import type { ClauseField, ClauseOp, Priority, RoutingActionType, RoutingRule, RuleJoin } from '../../api/schema';
import { ClauseFieldValues, ClauseOpValues, PriorityValues, RoutingActionTypeValues } from '../../api/schema';
import { priorityLabel } from '../../lib/format';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const RULES = gql`
  query AdminRouting { routingRules { id name enabled position join clauses { field op value } actions { type queueId userId priority tag } createdAt updatedAt version } }
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
    // The version the editor was opened at: a save over another admin's newer one is refused.
    void m.run(SAVE_RULE, { id: rule?.id ?? null, input: { ...input, version: rule?.version ?? null } }, onSaved);
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

export function RoutingPage() {
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
