// SLA dashboard, from the API: open / breached / overdue / at-risk / escalated tiles (each one a
// filtered ticket list), the server's 7-day trend (tickets opened, SLA targets missed, tickets
// resolved per day in the workspace's time zone) and the most recent tickets.
import { useEffect, useState } from 'react';
import { gql, request } from '../api/client';
import type { SlaTrendDay } from '../api/schema';
import { formatTotal, type ListTotal } from '../lib/format';
import { Link } from '../lib/router';
import { ErrorText } from '../lib/ui';
import { useSession } from './session';
import { TicketCard, type ListTicket } from './Tickets';

const DASH = gql`
  query SlaDashboard($open: TicketFilterInput, $breached: TicketFilterInput, $overdue: TicketFilterInput, $escalated: TicketFilterInput, $risk: TicketFilterInput) {
    open: tickets(filter: $open, first: 1) { totalCount totalCountCapped }
    breached: tickets(filter: $breached, first: 1) { totalCount totalCountCapped }
    overdue: tickets(filter: $overdue, first: 1) { totalCount totalCountCapped }
    escalated: tickets(filter: $escalated, first: 1) { totalCount totalCountCapped }
    risk: tickets(filter: $risk, first: 1) { totalCount totalCountCapped }
    trend: slaTrend(days: 7) { date opened breaches resolved }
    recent: tickets(first: 10) {
      nodes {
        id number subject status priority slaDueAt escalated createdAt tags chatOriginated
        assignee { id name } queue { id name } helpTopic { id name } requester { name email }
      }
    }
  }
`;

type Data = { open: ListTotal; breached: ListTotal; overdue: ListTotal; escalated: ListTotal; risk: ListTotal; trend: SlaTrendDay[]; recent: { nodes: ListTicket[] } };

const OPEN = 'status=open,in_progress,waiting';

/** `YYYY-MM-DD` (the workspace's calendar day) as a short weekday, without a time-zone shift. */
function weekday(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short' });
}

export default function Dashboard() {
  const s = useSession();
  const [d, setD] = useState<Data | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const open = { status: ['OPEN', 'IN_PROGRESS', 'WAITING'] };
    request<Data>(s.token, DASH, {
      open,
      breached: { ...open, sla: 'BREACHED' },
      overdue: { ...open, sla: 'OVERDUE' },
      escalated: { ...open, escalated: true },
      risk: { ...open, sla: 'AT_RISK' },
    })
      .then(setD)
      .catch(setError);
  }, [s.token]);
  if (error) return <ErrorText error={error} />;
  if (!d) return <p className="muted">Loading…</p>;
  const max = Math.max(1, ...d.trend.flatMap((t) => [t.opened, t.breaches, t.resolved]));
  const series = (k: 'opened' | 'breaches' | 'resolved') => d.trend.map((t) => t[k]).join(', ');
  return (
    <section aria-labelledby="sla-title">
      <h1 id="sla-title">SLA dashboard</h1>
      <div className="tiles">
        <Link className="tile" href={`/?${OPEN}`}><span className="n">{formatTotal(d.open)}</span> Open</Link>
        <Link className="tile" href={`/?${OPEN}&sla=breached`}><span className="n" style={{ color: 'var(--red)' }}>{formatTotal(d.breached)}</span> Breached</Link>
        <Link className="tile" href={`/?${OPEN}&sla=overdue`}><span className="n" style={{ color: 'var(--red)' }}>{formatTotal(d.overdue)}</span> Overdue</Link>
        <Link className="tile" href={`/?${OPEN}&sla=at_risk`}><span className="n" style={{ color: 'var(--orange)' }}>{formatTotal(d.risk)}</span> At risk</Link>
        <Link className="tile" href={`/?${OPEN}&escalated=1`}><span className="n">{formatTotal(d.escalated)}</span> Escalated</Link>
      </div>
      <div className="panel">
        <h2 style={{ marginTop: 0 }}>Last 7 days</h2>
        <div
          className="bars"
          role="img"
          aria-label={`Tickets opened per day: ${series('opened')}; SLA targets missed per day: ${series('breaches')}; tickets resolved per day: ${series('resolved')}`}
        >
          {d.trend.map((t) => (
            <div className="bar" key={t.date} data-date={t.date}>
              <div style={{ display: 'flex', gap: 2, alignItems: 'flex-end', height: 110, width: '100%' }}>
                <span className="fill" style={{ height: `${(t.opened / max) * 100}%` }} title={`${t.date}: ${t.opened} opened`} />
                <span className="fill breach" style={{ height: `${(t.breaches / max) * 100}%` }} title={`${t.date}: ${t.breaches} missed`} />
                <span className="fill resolved" style={{ height: `${(t.resolved / max) * 100}%` }} title={`${t.date}: ${t.resolved} resolved`} />
              </div>
              {weekday(t.date)}
            </div>
          ))}
        </div>
        <p className="muted">Blue: tickets opened. Red: SLA targets missed. Green: tickets resolved. Days in the workspace's time zone.</p>
      </div>
      <h2>Recent tickets</h2>
      <div className="cards">{d.recent.nodes.map((t) => <TicketCard key={t.id} t={t} />)}</div>
    </section>
  );
}
