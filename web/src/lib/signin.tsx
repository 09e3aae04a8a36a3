// Password sign-in shared by the helpdesk and the portal. One address may have accounts in
// several workspaces: the password decides which, and when it fits more than one the server
// answers with the list (only after the password was proven) and the person chooses.
import { useState } from 'react';
import { ApiError } from '../api/client';

/** A workspace the sign-in may continue in. */
export type WorkspaceChoice = { slug: string; name: string };

/**
 * The workspaces offered when the password fits accounts in several (a VALIDATION error on
 * `workspace` with `extensions.workspaces`), else null.
 */
export function workspaceChoices(error: unknown): WorkspaceChoice[] | null {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION' || error.field !== 'workspace') return null;
  const list = error.extensions.workspaces;
  if (!Array.isArray(list)) return null;
  const choices = list.filter(
    (w): w is WorkspaceChoice => typeof w === 'object' && w !== null && typeof w.slug === 'string' && typeof w.name === 'string',
  );
  return choices.length ? choices : null;
}

/** What the form shows for a failed sign-in: one wording for a wrong password and an unknown address alike. */
export function signInError(error: unknown): unknown {
  return error instanceof ApiError && error.code === 'UNAUTHENTICATED' ? 'Wrong email or password.' : error;
}

/** The choice of workspace, in place of the sign-in button once the password was proven. */
export function ChooseWorkspace({ choices, busy, onChoose, onBack }: { choices: WorkspaceChoice[]; busy: boolean; onChoose: (slug: string) => void; onBack: () => void }) {
  return (
    <fieldset className="choices" aria-label="Choose a workspace">
      <legend>This email and password open several workspaces. Which one?</legend>
      {choices.map((w) => (
        <button key={w.slug} type="button" className="primary" disabled={busy} data-workspace={w.slug} onClick={() => onChoose(w.slug)}>
          {w.name}
        </button>
      ))}
      <button type="button" className="link" onClick={onBack}>Use another email or password</button>
    </fieldset>
  );
}

/**
 * A sign-in form's state: `signIn(workspace)` runs `attempt`, and a failure becomes either the
 * workspace choice (the password was proven) or the error to show.
 */
export function useSignIn(attempt: (workspace: string | null) => Promise<void>) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [choices, setChoices] = useState<WorkspaceChoice[] | null>(null);
  const signIn = async (workspace: string | null) => {
    setError(null);
    setBusy(true);
    try {
      await attempt(workspace);
    } catch (err) {
      const offered = workspaceChoices(err);
      setChoices(offered);
      if (!offered) setError(signInError(err));
    } finally {
      setBusy(false);
    }
  };
  return { error, setError, busy, choices, setChoices, signIn };
}
