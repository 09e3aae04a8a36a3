// SLA dashboard, computed from the API: open / breached / escalated tiles, a 7-day trend of
// tickets opened and SLA targets missed, and the most recent tickets.
import { useEffect, useState } from 'react';
import { gql, request } from '../api/client';
import { Link } from '../lib/router';
import { ErrorText } from '../lib/ui';
import { useSession } from './session';
import { TicketCard, type ListTicket } from './Tickets';

const DASH = gql`
  query SlaDashboard($open: TicketFilterInput, $overdue: TicketFilterInput, $escalated: TicketFilterInput, $risk: TicketFilterInput) {
    open: tickets(filter: $open, first: 1) { totalCount }
    overdue: tickets(filter: $overdue, first: 1) { totalCount }
    escalated: tickets(filter: $escalated, first: 1) { totalCount }
    risk: tickets(filter: $risk, first: 1) { totalCount }
    recent: tickets(first: 100) {
      nodes {
        id number subject status priority slaDueAt escalated createdAt tags chatOriginated
        assignee { id name } queue { id name } helpTopic { id name } requester { name email }
        slaBreaches { detectedAt }
      }
    }
  }
`;

type Row = ListTicket & { slaBreaches: { detectedAt: string }[] };

export default function Dashboard() {
  const s = useSession();
  const [d, setD] = useState<{ open: number; overdue: number; escalated: number; risk: number; recent: Row[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const open = { status: ['OPEN', 'IN_PROGRESS', 'WAITING'] };
    request<{ open: { totalCount: number }; overdue: { totalCount: number }; escalated: { totalCount: number }; risk: { totalCount: number }; recent: { nodes: Row[] } }>(
      s.token,
      DASH,
      { open, overdue: { ...open, sla: 'OVERDUE' }, escalated: { ...open, escalated: true }, risk: { ...open, sla: 'AT_RISK' } },
    )
      .then((r) => setD({ open: r.open.totalCount, overdue: r.overdue.totalCount, escalated: r.escalated.totalCount, risk: r.risk.totalCount, recent: r.recent.nodes }))
      .catch(setError);
  }, [s.token]);
  if (error) return <ErrorText error={error} />;
  if (!d) return <p className="muted">Loading…</p>;
  const days = Array.from({ length: 7 }, (_, i) => {
    const day = new Date();
    day.setHours(0, 0, 0, 0);
    day.setDate(day.getDate() - (6 - i));
    return day;
  });
  const sameDay = (iso: string, day: Date) => {
    const x = new Date(iso);
    return x.getFullYear() === day.getFullYear() && x.getMonth() === day.getMonth() && x.getDate() === day.getDate();
  };
  const opened = days.map((day) => d.recent.filter((t) => sameDay(t.createdAt, day)).length);
  const breached = days.map((day) => d.recent.reduce((n, t) => n + t.slaBreaches.filter((b) => sameDay(b.detectedAt, day)).length, 0));
  const max = Math.max(1, ...opened, ...breached);
  return (
    <section aria-labelledby="sla-title">
      <h1 id="sla-title">SLA dashboard</h1>
      <div className="tiles">
        <Link className="tile" href="/?status=open,in_progress,waiting"><span className="n">{d.open}</span> Open</Link>
        <Link className="tile" href="/?status=open,in_progress,waiting&sla=overdue"><span className="n" style={{ color: 'var(--red)' }}>{d.overdue}</span> Breached (overdue)</Link>
        <Link className="tile" href="/?sla=at_risk"><span className="n" style={{ color: 'var(--orange)' }}>{d.risk}</span> At risk</Link>
        <Link className="tile" href="/?escalated=1"><span className="n">{d.escalated}</span> Escalated</Link>
      </div>
      <div className="panel">
        <h2 style={{ marginTop: 0 }}>Last 7 days</h2>
        <div className="bars" role="img" aria-label={`Tickets opened per day: ${opened.join(', ')}; SLA targets missed per day: ${breached.join(', ')}`}>
          {days.map((day, i) => (
            <div className="bar" key={i}>
              <div style={{ display: 'flex', gap: 2, alignItems: 'flex-end', height: 110, width: '100%' }}>
                <span className="fill" style={{ height: `${(opened[i] / max) * 100}%` }} title={`${opened[i]} opened`} />
                <span className="fill breach" style={{ height: `${(breached[i] / max) * 100}%` }} title={`${breached[i]} missed`} />
              </div>
              {day.toLocaleDateString(undefined, { weekday: 'short' })}
            </div>
          ))}
        </div>
        <p className="muted">Blue: tickets opened (of the newest 100). Red: SLA targets missed.</p>
      </div>
      <h2>Recent tickets</h2>
      <div className="cards">{d.recent.slice(0, 10).map((t) => <TicketCard key={t.id} t={t} />)}</div>
    </section>
  );
}
