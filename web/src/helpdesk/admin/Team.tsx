// Admin page: staff accounts, their roles, and how they are known on channels (staff identities).
import { useState } from 'react';
import { gql } from '../../api/client';
import type { Channel, Role, StaffIdentity, User } from '../../api/schema';
import { ChannelValues, RoleValues } from '../../api/schema';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const TEAM = gql`query AdminTeam { users { id email name role active permissions createdAt } staffIdentities { id userId channel externalId } }`;
const CREATE_USER = gql`mutation CreateUser($input: UserInput!) { createUser(input: $input) { id } }`;
const UPDATE_USER = gql`mutation UpdateUser($id: ID!, $input: UserPatch!) { updateUser(id: $id, input: $input) { id } }`;
const LINK_IDENTITY = gql`mutation LinkStaffIdentity($userId: ID!, $channel: Channel!, $externalId: String!) { linkStaffIdentity(userId: $userId, channel: $channel, externalId: $externalId) { id } }`;
const UNLINK_IDENTITY = gql`mutation UnlinkStaffIdentity($id: ID!) { unlinkStaffIdentity(id: $id) }`;

/** Channels a staff member can be known on: those that carry people's own accounts. */
const IDENTITY_CHANNELS: Channel[] = ChannelValues.filter((c) => c === 'DISCORD' || c === 'WHATSAPP' || c === 'EMAIL');

export function TeamPage() {
  const s = useSession();
  const { data, error, reload } = useQuery<{ users: User[]; staffIdentities: StaffIdentity[] }>(TEAM);
  const m = useMutation();
  const [f, setF] = useState({ email: '', name: '', role: 'AGENT' as Role, password: '' });
  const [link, setLink] = useState({ userId: '', channel: 'DISCORD' as Channel, externalId: '' });
  const nameOf = (id: string) => data?.users.find((u) => u.id === id)?.name ?? id;
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
      <h3 style={{ marginTop: 20 }}>Channel identities</h3>
      <p className="muted">How a team member is known on a channel (e.g. their Discord user id), so their messages there are theirs, not a requester's.</p>
      <form className="panel row" aria-label="Link a channel identity" onSubmit={(e) => { e.preventDefault(); void m.run(LINK_IDENTITY, link, async () => { setLink({ ...link, externalId: '' }); await reload(); }, 'Identity linked'); }}>
        <label>Team member<select required value={link.userId} onChange={(e) => setLink({ ...link, userId: e.target.value })}>
          <option value="">Choose…</option>
          {data?.users.map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
        </select></label>
        <label>Channel<select value={link.channel} onChange={(e) => setLink({ ...link, channel: e.target.value as Channel })}>{IDENTITY_CHANNELS.map((c) => <option key={c} value={c}>{c.toLowerCase()}</option>)}</select></label>
        <label>Id on the channel<input required value={link.externalId} onChange={(e) => setLink({ ...link, externalId: e.target.value })} /></label>
        <button className="primary">Link identity</button>
      </form>
      <table style={{ marginTop: 12 }}>
        <thead><tr><th>Team member</th><th>Channel</th><th>Id on the channel</th><th></th></tr></thead>
        <tbody>
          {data?.staffIdentities.map((i) => (
            <tr key={i.id}>
              <td>{nameOf(i.userId)}</td>
              <td>{i.channel?.toLowerCase() ?? 'unknown'}</td>
              <td><code>{i.externalId}</code></td>
              <td><button aria-label={`Unlink ${i.externalId} from ${nameOf(i.userId)}`} onClick={() => void m.run(UNLINK_IDENTITY, { id: i.id }, reload, 'Identity unlinked')}>Unlink</button></td>
            </tr>
          ))}
          {data && data.staffIdentities.length === 0 && <tr><td colSpan={4} className="muted">No identities linked.</td></tr>}
        </tbody>
      </table>
    </Page>
  );
}
