// The signed-in session's token, kept in localStorage so it survives reloads and is shared by
// the tabs of one browser.
import { useCallback, useEffect, useState } from 'react';
import { onUnauthenticated } from '../api/client';

/** The token stored under `key`, with sign-in (or replacement) and sign-out. */
export function useStoredToken(key: string) {
  const [token, setToken] = useState<string | null>(() => localStorage.getItem(key));
  const signIn = useCallback(
    (t: string) => {
      localStorage.setItem(key, t);
      setToken(t);
    },
    [key],
  );
  const signOut = useCallback(() => {
    localStorage.removeItem(key);
    setToken(null);
  }, [key]);
  useEffect(
    () =>
      onUnauthenticated((refused) => {
        const stored = localStorage.getItem(key);
        if (!stored || refused === stored) signOut();
        // Replaced meanwhile (a password change, here or in another tab): carry on with that one.
        else setToken(stored);
      }),
    [key, signOut],
  );
  return { token, signIn, signOut };
}
