// Pieces the admin pages share: query and mutation hooks, the page frame, feedback, and
// validation errors shown next to the field the server names (`extensions.field`).
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { request } from '../../api/client';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';

/** Loads a query, with reload and an error. */
export function useQuery<T>(doc: string, vars: Record<string, unknown> = {}) {
  const s = useSession();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const key = JSON.stringify(vars);
  const reload = useCallback(async () => {
    try {
      setData(await request<T>(s.token, doc, vars));
      setError(null);
    } catch (e) {
      setError(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [s.token, doc, key]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, reload };
}

/** Runs a mutation, then `after`; keeps the error for display. */
export function useMutation() {
  const s = useSession();
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const run = async <T,>(doc: string, vars: Record<string, unknown>, after?: (d: T) => unknown, message = 'Saved') => {
    try {
      const d = await request<T>(s.token, doc, vars);
      setError(null);
      setNotice(message);
      await after?.(d);
      return d;
    } catch (e) {
      setError(e);
      setNotice('');
      return null;
    }
  };
  return { run, error, notice };
}

export function Page({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{title}</h1>
      {children}
    </section>
  );
}

export function Feedback({ error, notice }: { error: unknown; notice: string }) {
  return error ? <ErrorText error={error} /> : notice ? <p className="ok" role="status">{notice}</p> : null;
}

export { FieldRow, fieldError, formError } from '../../lib/ui';
