// Quality review (escalated tickets and negative ratings waiting for review) and, for
// supervisors, the manager notifications (SLA breaches and other alerts).
import { useCallback, useEffect, useState } from 'react';
import { gql, request } from '../api/client';
import type { QualityFlag } from '../api/schema';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import { ErrorText, StatusBadge } from '../lib/ui';
import { useSession } from './session';

const FLAGS = gql`
  query QualityFlags($all: Boolean) {
    qualityFlags(includeResolved: $all) { id kind reason createdAt resolvedAt ticket { number subject status } }
  }
`;
const RESOLVE = gql`mutation ResolveFlag($id: ID!) { resolveQualityFlag(id: $id) { id resolvedAt } }`;
const NOTIFICATIONS = gql`query Notifications { notifications(first: 50) { id kind ticketId message createdAt } }`;

type Flag = Pick<QualityFlag, 'id' | 'kind' | 'reason' | 'createdAt' | 'resolvedAt'> & {
  ticket: { number: string; subject: string; status: QualityFlag['ticket']['status'] };
};

const kindLabel: Record<Flag['kind'], string> = { ESCALATED: 'Escalated', NEGATIVE_CSAT: 'Negative rating', LOW_CONFIDENCE: 'Low confidence' };

export default function Review() {
  const s = useSession();
  const [all, setAll] = useState(false);
  const [flags, setFlags] = useState<Flag[] | null>(null);
  const [notes, setNotes] = useState<{ id: string; kind: string; message: string; createdAt: string }[]>([]);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setFlags((await request<{ qualityFlags: Flag[] }>(s.token, FLAGS, { all })).qualityFlags);
      if (s.can('reassign')) setNotes((await request<{ notifications: typeof notes }>(s.token, NOTIFICATIONS)).notifications);
    } catch (e) {
      setError(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [s.token, all]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="review-title">
      <h1 id="review-title">Quality review</h1>
      <ErrorText error={error} />
      <label className="inline"><input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Include reviewed flags</label>
      {!flags ? (
        <p className="muted">Loading…</p>
      ) : flags.length === 0 ? (
        <p className="panel">Nothing waits for review.</p>
      ) : (
        <table style={{ marginTop: 8 }}>
          <thead><tr><th>Ticket</th><th>Why</th><th>Flagged</th><th /></tr></thead>
          <tbody>
            {flags.map((f) => (
              <tr key={f.id}>
                <td><Link href={`/tickets/${f.ticket.number}`}>{f.ticket.number}</Link> {f.ticket.subject} <StatusBadge status={f.ticket.status} /></td>
                <td><strong>{kindLabel[f.kind]}</strong> {f.reason}</td>
                <td>{formatDate(f.createdAt)}</td>
                <td>
                  {f.resolvedAt ? (
                    <span className="muted">Reviewed {formatDate(f.resolvedAt)}</span>
                  ) : (
                    s.can('manage') && <button type="button" onClick={() => void request(s.token, RESOLVE, { id: f.id }).then(load, setError)}>Mark reviewed</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {s.can('reassign') && (
        <>
          <h2>Notifications</h2>
          {notes.length === 0 ? (
            <p className="muted">No notifications.</p>
          ) : (
            <ul>
              {notes.map((n) => (
                <li key={n.id}><span className="muted">{formatDate(n.createdAt)} · {n.kind}</span> {n.message}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
