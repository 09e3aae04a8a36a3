// The staff queue: fixed views of open work with their counts, and claim / release per ticket.
import { useCallback, useEffect, useRef, useState } from 'react';
import { gql, request } from '../api/client';
import type { TicketFilterInput } from '../api/schema';
import { formatTotal, type ListTotal } from '../lib/format';
import { navigate } from '../lib/router';
import { ErrorText } from '../lib/ui';
import { useSession } from './session';
import { LoadMore, PAGE_SIZE, TICKET_LIST, TicketCard, loadMoreTickets, useTicketEvents, type TicketPage } from './Tickets';

const OPEN = ['OPEN', 'IN_PROGRESS', 'WAITING'] as const;
const VIEWS: { key: string; label: string; filter: TicketFilterInput }[] = [
  { key: 'open', label: 'All open', filter: { status: [...OPEN] } },
  { key: 'mine', label: 'Mine', filter: { status: [...OPEN], assignee: 'me' } },
  { key: 'unclaimed', label: 'Unclaimed', filter: { status: [...OPEN], assignee: 'unassigned' } },
  { key: 'escalated', label: 'Escalated', filter: { status: [...OPEN], escalated: true } },
  { key: 'staff', label: 'Awaiting staff', filter: { awaiting: 'STAFF' } },
  { key: 'customer', label: 'Awaiting customer', filter: { awaiting: 'CUSTOMER' } },
];
// The most tickets the API returns at once: a refresh asks for what is on screen, up to this.
const MAX_FIRST = 100;

const COUNTS = gql`
  query QueueCounts($a: TicketFilterInput, $b: TicketFilterInput, $c: TicketFilterInput, $d: TicketFilterInput, $e: TicketFilterInput, $f: TicketFilterInput) {
    a: tickets(filter: $a, first: 1) { totalCount totalCountCapped }
    b: tickets(filter: $b, first: 1) { totalCount totalCountCapped }
    c: tickets(filter: $c, first: 1) { totalCount totalCountCapped }
    d: tickets(filter: $d, first: 1) { totalCount totalCountCapped }
    e: tickets(filter: $e, first: 1) { totalCount totalCountCapped }
    f: tickets(filter: $f, first: 1) { totalCount totalCountCapped }
  }
`;
const CLAIM = gql`mutation QueueClaim($id: ID!) { claimTicket(ticketId: $id) { id } }`;
const UNCLAIM = gql`mutation QueueUnclaim($id: ID!) { unclaimTicket(ticketId: $id) { id } }`;

export function StaffQueue({ search }: { search: URLSearchParams }) {
  const s = useSession();
  const view = VIEWS.find((v) => v.key === search.get('view')) ?? VIEWS[0];
  const [counts, setCounts] = useState<string[]>([]);
  const [page, setPage] = useState<TicketPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Tickets on screen: a refresh (a claim, a live update) keeps what "Load more" added.
  const shown = useRef(0);
  const load = useCallback(async () => {
    try {
      const vars = Object.fromEntries(VIEWS.map((v, i) => ['abcdef'[i], v.filter]));
      const first = Math.min(MAX_FIRST, Math.max(PAGE_SIZE, shown.current));
      const [c, list] = await Promise.all([
        request<Record<string, ListTotal>>(s.token, COUNTS, vars),
        request<{ tickets: TicketPage }>(s.token, TICKET_LIST, { filter: view.filter, first }),
      ]);
      setCounts(VIEWS.map((_, i) => formatTotal(c['abcdef'[i]])));
      setPage(list.tickets);
      shown.current = list.tickets.nodes.length;
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [s.token, view]);
  useEffect(() => {
    // Another view starts from its first page.
    shown.current = 0;
    void load();
  }, [load]);
  const loadMore = async () => {
    if (!page) return;
    try {
      const more = await loadMoreTickets(s.token, view.filter, page);
      setPage(more);
      shown.current = more.nodes.length;
    } catch (e) {
      setError(e);
    }
  };
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
        <>
          <p className="muted" data-testid="result-count">
            Showing {page.nodes.length} of {formatTotal(page)} tickets
          </p>
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
          <LoadMore page={page} onMore={() => void loadMore()} />
        </>
      )}
    </section>
  );
}
