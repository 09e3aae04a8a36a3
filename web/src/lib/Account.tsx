// The signed-in person's own account, for staff and customers alike: change the password,
// sign out on every device.
import { useEffect, useState, type FormEvent } from 'react';
import { gql, request } from '../api/client';
import { ErrorText } from './ui';

const CHANGE_PASSWORD = gql`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { token }
  }
`;
const HAS_PASSWORD = gql`
  query HasPassword { me { hasPassword } }
`;
const SIGN_OUT_EVERYWHERE = gql`
  mutation SignOutEverywhere { signOutEverywhere }
`;

/**
 * `onToken` receives the session that replaces this one after a password change (every other
 * session has ended); `onSignedOut` runs once every session, this one included, has ended.
 */
export function Account({ token, onToken, onSignedOut }: { token: string; onToken: (t: string) => void; onSignedOut: () => void }) {
  const [f, setF] = useState({ current: '', next: '', again: '' });
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  // Customers who only ever signed in by emailed link set a first password, with no current one.
  const [hasPassword, setHasPassword] = useState<boolean | null>(null);
  useEffect(() => {
    request<{ me: { hasPassword: boolean } }>(token, HAS_PASSWORD).then((d) => setHasPassword(d.me.hasPassword), setError);
  }, [token]);
  const change = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    if (f.next !== f.again) {
      setError('The new passwords do not match.');
      return;
    }
    setBusy(true);
    try {
      const d = await request<{ changePassword: { token: string } }>(token, CHANGE_PASSWORD, {
        currentPassword: f.current,
        newPassword: f.next,
      });
      onToken(d.changePassword.token);
      setF({ current: '', next: '', again: '' });
      setDone(true);
      setHasPassword(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const signOutEverywhere = async () => {
    setError(null);
    try {
      await request(token, SIGN_OUT_EVERYWHERE);
      onSignedOut();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section className="panel form" aria-labelledby="account-title">
      <h1 id="account-title">Your account</h1>
      <form className="form" onSubmit={change} aria-label={hasPassword === false ? 'Set a password' : 'Change password'}>
        <h2>{hasPassword === false ? 'Set a password' : 'Change password'}</h2>
        {hasPassword === false ? (
          <p className="muted">You sign in with emailed links. Set a password to sign in with it as well.</p>
        ) : (
          <label>
            Current password
            <input type="password" autoComplete="current-password" required value={f.current} onChange={(e) => setF({ ...f, current: e.target.value })} />
          </label>
        )}
        <label>
          New password
          <input type="password" autoComplete="new-password" required minLength={8} value={f.next} onChange={(e) => setF({ ...f, next: e.target.value })} />
        </label>
        <label>
          New password again
          <input type="password" autoComplete="new-password" required minLength={8} value={f.again} onChange={(e) => setF({ ...f, again: e.target.value })} />
        </label>
        <ErrorText error={error} />
        {done && <p role="status">Password saved. You are signed out on every other device.</p>}
        <div><button className="primary" disabled={busy || hasPassword === null}>{hasPassword === false ? 'Set password' : 'Change password'}</button></div>
      </form>
      <h2>Devices</h2>
      <p className="muted">Lost a device, or signed in somewhere you should not have? End every session, this one included.</p>
      <div><button type="button" onClick={signOutEverywhere}>Sign out everywhere</button></div>
    </section>
  );
}
