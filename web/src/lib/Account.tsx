// The signed-in person's own account, for staff and customers alike: change (or, just after
// signing in by emailed link, reset or set) the password, sign out on every device.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, gql, request } from '../api/client';
import { ErrorText } from './ui';

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

/** The form's labels for the fields the server names in its errors. */
const FIELD_LABELS: Record<string, string> = { currentPassword: 'Current password', newPassword: 'New password' };

function errorText(err: unknown): unknown {
  if (!(err instanceof ApiError) || !err.field || !FIELD_LABELS[err.field]) return err;
  return `${FIELD_LABELS[err.field]}: ${err.message.replace(new RegExp(`^${err.field}:\\s*`), '')}`;
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
  const load = useCallback(() => {
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
  useEffect(load, [load]);
  const setting = state?.hasPassword === false;
  const askCurrent = state?.currentPasswordRequired !== false;

  const change = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    if (f.next !== f.again) {
      setError('New password: the two entries do not match.');
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
      setError(errorText(err));
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
            <label>
              Current password
              <input type="password" autoComplete="current-password" required value={f.current} onChange={(e) => setF({ ...f, current: e.target.value })} />
            </label>
          ) : (
            <p className="muted">You signed in with an emailed link just now, so your current password is not needed.</p>
          )}
          <label>
            New password
            <input type="password" autoComplete="new-password" required minLength={8} value={f.next} onChange={(e) => setF({ ...f, next: e.target.value })} />
          </label>
          <label>
            New password again
            <input type="password" autoComplete="new-password" required minLength={8} value={f.again} onChange={(e) => setF({ ...f, again: e.target.value })} />
          </label>
          {done && <p role="status">Password saved. You are signed out on every other device.</p>}
          <div><button className="primary" disabled={busy || !state}>{setting ? 'Set password' : 'Change password'}</button></div>
        </form>
      )}
      <ErrorText error={error} />
      <h2>Devices</h2>
      <p className="muted">Lost a device, or signed in somewhere you should not have? End every session, this one included.</p>
      <div><button type="button" onClick={signOutEverywhere} disabled={busy}>Sign out everywhere</button></div>
    </section>
  );
}
