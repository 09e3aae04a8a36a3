// The staff queue: fixed views of open work with their counts, and claim / release per ticket.
import { useCallback, useEffect, useState } from 'react';
import { gql, request } from '../api/client';
import type { TicketFilterInput } from '../api/schema';
import { navigate } from '../lib/router';
import { ErrorText } from '../lib/ui';
import { useSession } from './session';
import { TICKET_LIST, TicketCard, useTicketEvents, type TicketPage } from './Tickets';

const OPEN = ['OPEN', 'IN_PROGRESS', 'WAITING'] as const;
const VIEWS: { key: string; label: string; filter: TicketFilterInput }[] = [
  { key: 'open', label: 'All open', filter: { status: [...OPEN] } },
  { key: 'mine', label: 'Mine', filter: { status: [...OPEN], assignee: 'me' } },
  { key: 'unclaimed', label: 'Unclaimed', filter: { status: [...OPEN], assignee: 'unassigned' } },
  { key: 'escalated', label: 'Escalated', filter: { status: [...OPEN], escalated: true } },
  { key: 'staff', label: 'Awaiting staff', filter: { status: ['OPEN', 'IN_PROGRESS'] } },
  { key: 'customer', label: 'Awaiting customer', filter: { status: ['WAITING'] } },
];

const COUNTS = gql`
  query QueueCounts($a: TicketFilterInput, $b: TicketFilterInput, $c: TicketFilterInput, $d: TicketFilterInput, $e: TicketFilterInput, $f: TicketFilterInput) {
    a: tickets(filter: $a, first: 1) { totalCount }
    b: tickets(filter: $b, first: 1) { totalCount }
    c: tickets(filter: $c, first: 1) { totalCount }
    d: tickets(filter: $d, first: 1) { totalCount }
    e: tickets(filter: $e, first: 1) { totalCount }
    f: tickets(filter: $f, first: 1) { totalCount }
  }
`;
const CLAIM = gql`mutation QueueClaim($id: ID!) { claimTicket(ticketId: $id) { id } }`;
const UNCLAIM = gql`mutation QueueUnclaim($id: ID!) { unclaimTicket(ticketId: $id) { id } }`;

export function StaffQueue({ search }: { search: URLSearchParams }) {
  const s = useSession();
  const view = VIEWS.find((v) => v.key === search.get('view')) ?? VIEWS[0];
  const [counts, setCounts] = useState<number[]>([]);
  const [page, setPage] = useState<TicketPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const vars = Object.fromEntries(VIEWS.map((v, i) => ['abcdef'[i], v.filter]));
      const [c, list] = await Promise.all([
        request<Record<string, { totalCount: number }>>(s.token, COUNTS, vars),
        request<{ tickets: TicketPage }>(s.token, TICKET_LIST, { filter: view.filter, first: 50 }),
      ]);
      setCounts(VIEWS.map((_, i) => c['abcdef'[i]].totalCount));
      setPage(list.tickets);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [s.token, view]);
  useEffect(() => {
    void load();
  }, [load]);
  useTicketEvents(s.token, () => void load());
  const act = async (doc: string, id: string) => {
    try {
      await request(s.token, doc, { id });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Staff queue</h1>
      <div className="tiles" role="tablist" aria-label="Queue views">
        {VIEWS.map((v, i) => (
          <button key={v.key} role="tab" type="button" aria-selected={v === view} className={`tile${v === view ? ' on' : ''}`} onClick={() => navigate(`/queue?view=${v.key}`, true)}>
            <span className="n">{counts[i] ?? '…'}</span> {v.label}
          </button>
        ))}
      </div>
      <ErrorText error={error} />
      {!page ? (
        <p className="muted">Loading…</p>
      ) : page.nodes.length === 0 ? (
        <p className="panel">Nothing here right now.</p>
      ) : (
        <div className="cards">
          {page.nodes.map((t) => {
            const mine = t.assignee?.id === s.me.userId;
            return (
              <TicketCard
                key={t.id}
                t={t}
                extra={
                  s.can('manage') &&
                  (mine ? (
                    <button type="button" onClick={() => void act(UNCLAIM, t.id)} aria-label={`Release ${t.number}`}>Release</button>
                  ) : (
                    <button type="button" onClick={() => void act(CLAIM, t.id)} aria-label={`Claim ${t.number}`}>Claim</button>
                  ))
                }
              />
            );
          })}
        </div>
      )}
    </section>
  );
}
