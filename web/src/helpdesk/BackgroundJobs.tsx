// Background jobs: URL syncs and re-indexing with their state, progress and times. The page
// polls while anything is queued or running, so a re-index started here shows its progress;
// admins start one with "Re-index search".
import { useEffect } from 'react';
import { gql } from '../api/client';
import { formatDate } from '../lib/format';
import { ErrorText } from '../lib/ui';
import { Feedback, Page, useMutation, useQuery } from './admin/shared';
import { useSession } from './session';

type State = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
type Job = { id: string; kind: 'KNOWLEDGE_SYNC' | 'REINDEX'; state: State; subject: string; processed: number; total: number | null; error: string | null; requestedBy: string | null; createdAt: string; startedAt: string | null; finishedAt: string | null };

const JOBS = gql`query BackgroundJobs { backgroundJobs { id kind state subject processed total error requestedBy createdAt startedAt finishedAt } }`;
const REINDEX = gql`mutation ReindexSearch { reindexSearch { id state } }`;

const KIND: Record<Job['kind'], string> = { KNOWLEDGE_SYNC: 'Knowledge URL sync', REINDEX: 'Re-index' };
const STATE: Record<State, { label: string; badge: string }> = {
  QUEUED: { label: 'Queued', badge: 'status-CLOSED' },
  RUNNING: { label: 'Running', badge: 'status-IN_PROGRESS' },
  COMPLETED: { label: 'Completed', badge: 'status-RESOLVED' },
  FAILED: { label: 'Failed', badge: 'priority-URGENT' },
};
/** How often the page looks again while a job is queued or running. */
const POLL_MS = 1000;

export default function BackgroundJobsPage() {
  const session = useSession();
  const { data, error, reload } = useQuery<{ backgroundJobs: Job[] }>(JOBS);
  const m = useMutation();
  const jobs = data?.backgroundJobs ?? [];
  const busy = jobs.some((j) => j.state === 'QUEUED' || j.state === 'RUNNING');
  useEffect(() => {
    if (!busy) return;
    const t = window.setInterval(() => void reload(), POLL_MS);
    return () => window.clearInterval(t);
  }, [busy, reload]);
  return (
    <Page title="Background jobs">
      <p className="muted">URL syncs and re-indexing. This page refreshes itself while a job is queued or running; you can leave and come back.</p>
      {session.can('admin') && (
        <div className="row">
          <button type="button" className="primary" onClick={() => void m.run(REINDEX, {}, reload, 'Re-index queued')}>Re-index search</button>
        </div>
      )}
      <Feedback error={m.error} notice={m.notice} />
      <ErrorText error={error} />
      <table aria-label="Background jobs">
        <thead><tr><th>Type</th><th>What</th><th>State</th><th>Progress</th><th>Queued</th><th>Started</th><th>Finished</th></tr></thead>
        <tbody>
          {data && jobs.length === 0 && <tr><td colSpan={7} className="muted">No background jobs yet.</td></tr>}
          {jobs.map((j) => (
            <tr key={j.id} aria-label={`${KIND[j.kind]} ${j.subject}`}>
              <td>{KIND[j.kind]}</td>
              <td>{j.subject}{j.requestedBy ? <span className="muted"> (by {j.requestedBy})</span> : null}</td>
              <td>
                <span className={`badge ${STATE[j.state].badge}`}>{STATE[j.state].label}</span>
                {j.error && <div className="error">{j.error}</div>}
              </td>
              <td>
                {j.total !== null ? (
                  <>
                    <progress max={Math.max(j.total, 1)} value={j.processed} aria-label={`Progress of job ${j.id}`} /> {j.processed} / {j.total}
                  </>
                ) : '—'}
              </td>
              <td>{formatDate(j.createdAt)}</td>
              <td>{j.startedAt ? formatDate(j.startedAt) : '—'}</td>
              <td>{j.finishedAt ? formatDate(j.finishedAt) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
