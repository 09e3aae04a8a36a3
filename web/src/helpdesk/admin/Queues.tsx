// Admin page: queues, their assignment mode and members. Every save of a queue sends the version
// the page loaded, so a save over another admin's newer one is refused (naming them) instead of
// undoing it.
import { useState } from 'react';
import { gql } from '../../api/client';
import type { AssignmentMode, MemberRole, Queue, User } from '../../api/schema';
import { AssignmentModeValues, MemberRoleValues } from '../../api/schema';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const QUEUES = gql`
  query AdminQueues { queues { id name isDefault assignmentMode version members { user { id name } email role weight onBreak } } users { id name active } }
`;
const SAVE_QUEUE = gql`mutation SaveQueue($id: ID, $input: QueueInput!) { saveQueue(id: $id, input: $input) { id } }`;
const DELETE_QUEUE = gql`mutation DeleteQueue($id: ID!) { deleteQueue(id: $id) }`;
const SET_MEMBER = gql`
  mutation SetMember($q: ID!, $u: ID!, $role: MemberRole, $weight: Int, $onBreak: Boolean) {
    setQueueMember(queueId: $q, userId: $u, role: $role, weight: $weight, onBreak: $onBreak) { email }
  }
`;
const REMOVE_MEMBER = gql`mutation RemoveMember($q: ID!, $u: ID!) { removeQueueMember(queueId: $q, userId: $u) { email } }`;

export function QueuesPage() {
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
                if (name && name !== q.name) void m.run(SAVE_QUEUE, { id: q.id, input: { name, isDefault: q.isDefault, assignmentMode: q.assignmentMode, version: q.version } }, after, 'Queue renamed');
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
                <select value={q.assignmentMode} onChange={(e) => void m.run(SAVE_QUEUE, { id: q.id, input: { name: q.name, isDefault: q.isDefault, assignmentMode: e.target.value, version: q.version } }, after)}>
                  {AssignmentModeValues.map((v) => <option key={v} value={v}>{v.toLowerCase().replace('_', ' ')}</option>)}
                </select>
              </label>
              {!q.isDefault && <button type="button" onClick={() => void m.run(SAVE_QUEUE, { id: q.id, input: { name: q.name, assignmentMode: q.assignmentMode, isDefault: true, version: q.version } }, after)}>Make default</button>}
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
