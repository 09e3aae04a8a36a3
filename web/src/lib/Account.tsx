// The signed-in person's own account, for staff and customers alike: change (or, just after
// signing in by emailed link, reset or set) the password, sign out on every device.
import { useEffect, useState, type FormEvent } from 'react';
import { gql, request } from '../api/client';
import { ErrorText, FieldRow, formError } from './ui';

const CHANGE_PASSWORD = gql`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { token }
  }
`;
const PASSWORD_STATE = gql`
  query PasswordState { me { hasPassword currentPasswordRequired } }
`;
const SIGN_OUT_EVERYWHERE = gql`
  mutation SignOutEverywhere { signOutEverywhere }
`;

interface PasswordState {
  hasPassword: boolean;
  currentPasswordRequired: boolean;
}

/**
 * `onToken` receives the session that replaces this one after a password change (every other
 * session has ended); `onSignedOut` runs once every session, this one included, has ended.
 */
export function Account({ token, onToken, onSignedOut }: { token: string; onToken: (t: string) => void; onSignedOut: () => void }) {
  const [f, setF] = useState({ current: '', next: '', again: '' });
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [state, setState] = useState<PasswordState | null>(null);
  useEffect(() => {
    let live = true;
    request<{ me: PasswordState }>(token, PASSWORD_STATE).then(
      (d) => live && setState(d.me),
      (err) => {
        if (!live) return;
        setError(err);
        // Unknown: ask for the current password, as the server will if it is needed.
        setState({ hasPassword: true, currentPasswordRequired: true });
      },
    );
    return () => {
      live = false;
    };
  }, [token]);
  const setting = state?.hasPassword === false;
  const askCurrent = state?.currentPasswordRequired !== false;

  const change = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    if (f.next !== f.again) {
      setError('The two new passwords do not match.');
      return;
    }
    setBusy(true);
    try {
      const d = await request<{ changePassword: { token: string } }>(token, CHANGE_PASSWORD, {
        currentPassword: askCurrent ? f.current : '',
        newPassword: f.next,
      });
      onToken(d.changePassword.token);
      setF({ current: '', next: '', again: '' });
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const signOutEverywhere = async () => {
    if (!window.confirm('Sign out on every device, this one included?')) return;
    setError(null);
    setBusy(true);
    try {
      await request(token, SIGN_OUT_EVERYWHERE);
      onSignedOut();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const title = setting ? 'Set a password' : 'Change password';
  return (
    <section className="panel form" aria-labelledby="account-title">
      <h1 id="account-title">Your account</h1>
      {setting && askCurrent ? (
        <p className="muted">You sign in with emailed links. To set a password as well, sign in with a new link and come back here within 15 minutes.</p>
      ) : (
        <form className="form" onSubmit={change} aria-label={title}>
          <h2>{title}</h2>
          {askCurrent ? (
            <FieldRow label="Current password" field="currentPassword" error={error}>
              {(a) => <input {...a} type="password" autoComplete="current-password" required value={f.current} onChange={(e) => setF({ ...f, current: e.target.value })} />}
            </FieldRow>
          ) : (
            <p className="muted">You signed in with an emailed link just now, so your current password is not needed.</p>
          )}
          <FieldRow label="New password" field="newPassword" error={error}>
            {(a) => <input {...a} type="password" autoComplete="new-password" required minLength={8} value={f.next} onChange={(e) => setF({ ...f, next: e.target.value })} />}
          </FieldRow>
          <label>
            New password again
            <input type="password" autoComplete="new-password" required minLength={8} value={f.again} onChange={(e) => setF({ ...f, again: e.target.value })} />
          </label>
          {done && <p role="status">Password saved. You are signed out on every other device.</p>}
          <div><button className="primary" disabled={busy || !state}>{setting ? 'Set password' : 'Change password'}</button></div>
        </form>
      )}
      <ErrorText error={formError(error, ['currentPassword', 'newPassword'])} />
      <h2>Devices</h2>
      <p className="muted">Lost a device, or signed in somewhere you should not have? End every session, this one included.</p>
      <div><button type="button" onClick={signOutEverywhere} disabled={busy}>Sign out everywhere</button></div>
    </section>
  );
}
