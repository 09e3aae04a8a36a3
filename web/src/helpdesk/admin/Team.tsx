// Admin page: staff accounts and their roles.
import { useState } from 'react';
import { gql } from '../../api/client';
import type { Role, User } from '../../api/schema';
import { RoleValues } from '../../api/schema';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const TEAM = gql`query AdminTeam { users { id email name role active permissions createdAt } }`;
const CREATE_USER = gql`mutation CreateUser($input: UserInput!) { createUser(input: $input) { id } }`;
const UPDATE_USER = gql`mutation UpdateUser($id: ID!, $input: UserPatchInput!) { updateUser(id: $id, input: $input) { id } }`;

export function TeamPage() {
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
