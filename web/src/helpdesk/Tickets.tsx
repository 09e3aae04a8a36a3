// The Tickets page: status tiles, filters (reflected in the URL), ticket cards, selection mode
// with bulk status / assign / priority and CSV export, and live updates.
import { useCallback, useEffect, useState } from 'react';
import { gql, request } from '../api/client';
import type { Priority, SlaFilter, StatusCount, Ticket, TicketFilterInput, TicketStatus } from '../api/schema';
import { PriorityValues, SlaFilterValues, TicketStatusValues } from '../api/schema';
import { emptyFilters, filtersFromQuery, filtersToInput, filtersToQuery, type TicketFilters } from '../lib/filters';
import { download, formatDate, formatTotal, priorityLabel, relative, statusLabel, toCsv } from '../lib/format';
import { Link, navigate } from '../lib/router';
import { type LiveEvent, useLiveTickets } from '../lib/live';
import { ErrorText, PriorityBadge, StatusBadge } from '../lib/ui';
import { useSession } from './session';

export type ListTicket = Pick<
  Ticket,
  'id' | 'number' | 'subject' | 'status' | 'priority' | 'slaDueAt' | 'escalated' | 'createdAt' | 'tags' | 'chatOriginated'
> & {
  assignee: { id: string; name: string } | null;
  queue: { id: string; name: string };
  helpTopic: { id: string; name: string } | null;
  requester: { name: string; email: string | null };
};

export const TICKET_LIST = gql`
  query TicketList($filter: TicketFilterInput, $first: Int, $after: String) {
    tickets(filter: $filter, first: $first, after: $after) {
      totalCount totalCountCapped
      pageInfo { endCursor hasNextPage }
      nodes {
        id number subject status priority slaDueAt escalated createdAt tags chatOriginated
        assignee { id name }
        queue { id name }
        helpTopic { id name }
        requester { name email }
      }
      searchMatches { ticketId field fragments { text highlighted } }
    }
  }
`;

const COUNTS = gql`
  query TicketCounts($filter: TicketFilterInput) {
    ticketCounts(filter: $filter) { status count countCapped }
  }
`;

const BULK = gql`
  mutation Bulk($ids: [ID!]!, $input: TicketPatch!) {
    bulkUpdateTickets(ticketIds: $ids, input: $input) {
      ticketId
      error { message }
      ticket {
        id number subject status priority slaDueAt escalated createdAt tags chatOriginated
        assignee { id name }
        queue { id name }
        helpTopic { id name }
        requester { name email }
      }
    }
  }
`;

const TICKET_EVENTS = gql`
  subscription TicketEvents { ticketEvents { kind ticketId ticketNumber entryId } }
`;

/** The workspace's live ticket changes, for the helpdesk's pages (see `useLiveTickets`). */
export function useTicketEvents(token: string, onEvent: (ev: LiveEvent) => void) {
  useLiveTickets(token, TICKET_EVENTS, onEvent);
}

export interface TicketPage {
  totalCount: number;
  /** More tickets match than `totalCount` (the server counts to a cap): see `formatTotal`. */
  totalCountCapped: boolean;
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  nodes: ListTicket[];
  /** With a search: where each ticket matched (absent from lists that do not ask for it). */
  searchMatches?: SearchMatch[];
}

/** Where a searched ticket matched: an excerpt with the matched words marked. */
export interface SearchMatch {
  ticketId: string;
  field: 'SUBJECT' | 'MESSAGE' | 'NOTE' | 'REQUESTER' | 'TAGS';
  fragments: { text: string; highlighted: boolean }[];
}

const MATCH_LABEL: Record<SearchMatch['field'], string> = {
  SUBJECT: 'Subject',
  MESSAGE: 'Message',
  NOTE: 'Internal note',
  REQUESTER: 'Requester',
  TAGS: 'Tags',
};

/** The excerpt under a searched ticket's card; rendered as text, the matches in <mark>. */
export function MatchSnippet({ match }: { match: SearchMatch }) {
  return (
    <div className="snippet" data-testid="search-snippet">
      <span className="muted">{MATCH_LABEL[match.field]}: </span>
      {match.fragments.map((f, i) => (f.highlighted ? <mark key={i}>{f.text}</mark> : <span key={i}>{f.text}</span>))}
    </div>
  );
}

/** How many tickets a list asks for at a time. */
export const PAGE_SIZE = 50;

/** `page` with the next page of `filter` appended (the "Load more" of a ticket list). */
export async function loadMoreTickets(token: string, filter: TicketFilterInput, page: TicketPage): Promise<TicketPage> {
  if (!page.pageInfo.endCursor) return page;
  const more = await request<{ tickets: TicketPage }>(token, TICKET_LIST, { filter, first: PAGE_SIZE, after: page.pageInfo.endCursor });
  return {
    ...more.tickets,
    nodes: [...page.nodes, ...more.tickets.nodes],
    searchMatches: [...(page.searchMatches ?? []), ...(more.tickets.searchMatches ?? [])],
  };
}

/** The "Load more" button under a ticket list, shown while there are more pages. */
export function LoadMore({ page, onMore }: { page: TicketPage; onMore: () => void }) {
  if (!page.pageInfo.hasNextPage) return null;
  return (
    <p><button type="button" onClick={onMore}>Load more</button></p>
  );
}

export function TicketCard({
  t,
  selecting,
  selected,
  onToggle,
  extra,
  match,
}: {
  t: ListTicket;
  selecting?: boolean;
  selected?: boolean;
  onToggle?: () => void;
  extra?: React.ReactNode;
  match?: SearchMatch;
}) {
  const overdue = !!t.slaDueAt && new Date(t.slaDueAt).getTime() < Date.now() && t.status !== 'CLOSED' && t.status !== 'RESOLVED';
  return (
    <div className={`card${selected ? ' selected' : ''}${overdue ? ' overdue' : ''}`} data-testid="ticket-card" data-number={t.number}>
      <span>
        {selecting && (
          <input type="checkbox" checked={!!selected} onChange={onToggle} aria-label={`Select ${t.number}`} />
        )}
      </span>
      <span className="number">#{t.number}</span>
      <Link href={`/tickets/${t.number}`} className="subject" data-list-item title={t.subject}>
        {t.subject}
        {t.escalated && <span className="badge priority-URGENT" style={{ marginLeft: 6 }}>Escalated</span>}
        {t.chatOriginated && <span className="badge status-WAITING" style={{ marginLeft: 6 }} title="Opened from a chat conversation">Chat</span>}
      </Link>
      <StatusBadge status={t.status} />
      <PriorityBadge priority={t.priority} />
      <span className="assignee" title="Assignee">{t.assignee ? t.assignee.name : <span className="muted">Unassigned</span>}</span>
      <span className="due" title={t.slaDueAt ? `SLA target ${formatDate(t.slaDueAt)}` : 'No SLA target'}>
        {extra ?? (t.slaDueAt ? `Due ${relative(t.slaDueAt)}` : <span className="muted">No SLA target</span>)}
      </span>
      {match && <MatchSnippet match={match} />}
    </div>
  );
}

function exportCsv(rows: ListTicket[]) {
  const header = ['Number', 'Subject', 'Status', 'Priority', 'Assignee', 'Queue', 'Help topic', 'Requester', 'SLA due', 'Created'];
  const body = rows.map((t) => [
    t.number,
    t.subject,
    statusLabel[t.status],
    priorityLabel[t.priority],
    t.assignee?.name ?? '',
    t.queue.name,
    t.helpTopic?.name ?? '',
    t.requester.email ?? t.requester.name,
    t.slaDueAt ?? '',
    t.createdAt,
  ]);
  download(`tickets-${new Date().toISOString().slice(0, 10)}.csv`, toCsv([header, ...body]));
}

function fetchList(token: string, input: TicketFilterInput): Promise<[TicketPage, StatusCount[]]> {
  // The tiles count every status under the other filters.
  const countFilter = { ...input };
  delete countFilter.status;
  return Promise.all([
    request<{ tickets: TicketPage }>(token, TICKET_LIST, { filter: input, first: PAGE_SIZE }).then((d) => d.tickets),
    request<{ ticketCounts: StatusCount[] }>(token, COUNTS, { filter: countFilter }).then((d) => d.ticketCounts),
  ]);
}

let prefetched: { key: string; at: number; promise: Promise<[TicketPage, StatusCount[]]> } | null = null;

/** Starts loading the ticket list right after sign-in, alongside the shell's own data. */
export function prefetchTickets(token: string, search: URLSearchParams): void {
  const input = filtersToInput(filtersFromQuery(search));
  const promise = fetchList(token, input);
  promise.catch(() => {}); // reported when the page takes it
  prefetched = { key: token + JSON.stringify(input), at: Date.now(), promise };
}

export function TicketsPage({ search }: { search: URLSearchParams }) {
  const s = useSession();
  const filters = filtersFromQuery(search);
  const input: TicketFilterInput = filtersToInput(filters);
  const key = JSON.stringify(input);
  const [page, setPage] = useState<TicketPage | null>(null);
  const [counts, setCounts] = useState<StatusCount[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Map<string, ListTicket>>(new Map());
  const [bulkMsg, setBulkMsg] = useState<string>('');
  const [searchText, setSearchText] = useState(filters.search);

  const load = useCallback(async () => {
    try {
      // Only a fresh prefetch: one the page did not take at once is stale by now.
      const ready = prefetched?.key === s.token + key && Date.now() - prefetched.at < 5000 ? prefetched.promise : null;
      prefetched = null;
      const [list, c] = await (ready ?? fetchList(s.token, input));
      setPage(list);
      setCounts(c);
      setError(null);
    } catch (e) {
      setError(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [s.token, key]);

  useEffect(() => {
    void load();
  }, [load]);
  useTicketEvents(s.token, () => void load());

  const setFilters = (f: TicketFilters) => navigate(`/${filtersToQuery(f)}`, true);
  const clearFilters = () => {
    setSearchText('');
    setFilters(emptyFilters);
  };
  const set = <K extends keyof TicketFilters>(k: K, v: TicketFilters[K]) => setFilters({ ...filters, [k]: v });

  // Search follows the typing, a moment after it stops.
  useEffect(() => {
    if (searchText === filters.search) return;
    const t = setTimeout(() => set('search', searchText), 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [searchText]);

  const loadMore = async () => {
    if (!page) return;
    try {
      setPage(await loadMoreTickets(s.token, input, page));
    } catch (e) {
      setError(e);
    }
  };

  const toggle = (t: ListTicket) =>
    setSelected((m) => {
      const n = new Map(m);
      if (n.has(t.id)) n.delete(t.id);
      else n.set(t.id, t);
      return n;
    });

  const bulk = async (patch: Record<string, unknown>, what: string) => {
    const ids = [...selected.keys()];
    try {
      const r = await request<{ bulkUpdateTickets: { ticketId: string; error: { message: string } | null; ticket: ListTicket | null }[] }>(
        s.token,
        BULK,
        { ids, input: patch },
      );
      const failed = r.bulkUpdateTickets.filter((x) => x.error);
      setBulkMsg(
        failed.length
          ? `${what}: ${ids.length - failed.length} updated, ${failed.length} failed (${failed[0].error?.message})`
          : `${what}: ${ids.length} ticket${ids.length === 1 ? '' : 's'} updated`,
      );
      // Keep the selection, as the server now has it, so an export reflects the change even
      // when the tickets have left the filtered list.
      setSelected((m) => {
        const n = new Map(m);
        for (const x of r.bulkUpdateTickets) if (x.ticket && n.has(x.ticketId)) n.set(x.ticketId, x.ticket);
        return n;
      });
      await load();
    } catch (e) {
      setBulkMsg(String(e instanceof Error ? e.message : e));
    }
  };
  // Each tile is counted to a cap; the sum of capped tiles is a floor too.
  const total = {
    totalCount: counts.reduce((a, c) => a + c.count, 0),
    totalCountCapped: counts.some((c) => c.countCapped),
  };
  const tileCount = (st: TicketStatus) => {
    const c = counts.find((x) => x.status === st);
    return formatTotal({ totalCount: c?.count ?? 0, totalCountCapped: c?.countCapped ?? false });
  };
  const activeStatus = filters.status.length === 1 ? filters.status[0] : null;

  return (
    <section aria-labelledby="tickets-title">
      <div className="row spread">
        <h1 id="tickets-title">Tickets</h1>
        <div className="row">
          {s.can('manage') && (
            <Link href="/tickets/new" className="button">New ticket</Link>
          )}
          <button type="button" aria-pressed={selecting} onClick={() => { setSelecting(!selecting); setSelected(new Map()); setBulkMsg(''); }}>
            {selecting ? 'Done selecting' : 'Select tickets'}
          </button>
        </div>
      </div>
      <div className="tiles" role="group" aria-label="Ticket counts by status">
        <button type="button" className={`tile${filters.status.length === 0 ? ' on' : ''}`} onClick={() => set('status', [])}>
          <span className="n" data-testid="count-ALL">{formatTotal(total)}</span> All
        </button>
        {TicketStatusValues.map((st) => (
          <button
            key={st}
            type="button"
            className={`tile${activeStatus === st ? ' on' : ''}`}
            aria-pressed={activeStatus === st}
            onClick={() => set('status', activeStatus === st ? [] : [st])}
          >
            <span className="n" data-testid={`count-${st}`}>{tileCount(st)}</span>
            <span className={`badge status-${st}`}>{statusLabel[st]}</span>
          </button>
        ))}
      </div>
      <form className="filters" role="search" aria-label="Ticket filters" onSubmit={(e) => { e.preventDefault(); set('search', searchText); }}>
        <label>
          Search
          <input
            type="search"
            data-shortcut="search"
            placeholder="Search tickets or a number  ( / )"
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
          />
        </label>
        <label>
          Status
          <select value={filters.status.length === 1 ? filters.status[0] : ''} onChange={(e) => set('status', e.target.value ? [e.target.value as TicketStatus] : [])}>
            <option value="">All</option>
            {TicketStatusValues.map((v) => <option key={v} value={v}>{statusLabel[v]}</option>)}
          </select>
        </label>
        <label>
          Priority
          <select value={filters.priority.length === 1 ? filters.priority[0] : ''} onChange={(e) => set('priority', e.target.value ? [e.target.value as Priority] : [])}>
            <option value="">All</option>
            {PriorityValues.slice().reverse().map((v) => <option key={v} value={v}>{priorityLabel[v]}</option>)}
          </select>
        </label>
        <label>
          Assigned to
          <select value={filters.assignee} onChange={(e) => set('assignee', e.target.value)}>
            <option value="">Anyone</option>
            <option value="me">Me</option>
            <option value="unassigned">Unassigned</option>
            {s.users.filter((u) => u.active).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
          </select>
        </label>
        <label>
          Help topic
          <select value={filters.helpTopicId} onChange={(e) => set('helpTopicId', e.target.value)}>
            <option value="">All</option>
            {s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <label>
          Queue
          <select value={filters.queueId} onChange={(e) => set('queueId', e.target.value)}>
            <option value="">All</option>
            {s.queues.map((q) => <option key={q.id} value={q.id}>{q.name}</option>)}
          </select>
        </label>
        <label>
          SLA
          <select value={filters.sla} onChange={(e) => set('sla', e.target.value as SlaFilter | '')}>
            <option value="">All</option>
            {SlaFilterValues.map((v) => (
              <option key={v} value={v}>{{ DUE_TODAY: 'Due today', DUE_THIS_WEEK: 'Due this week', OVERDUE: 'Overdue', AT_RISK: 'At risk', BREACHED: 'Breached' }[v]}</option>
            ))}
          </select>
        </label>
        {filtersToQuery(filters) && (
          <button type="button" onClick={clearFilters}>Clear filters</button>
        )}
      </form>
      {selecting && (
        <div className="bulkbar row" role="region" aria-label="Bulk actions">
          <strong data-testid="selected-count">{selected.size} selected</strong>
          <button type="button" onClick={() => setSelected(new Map((page?.nodes ?? []).map((t) => [t.id, t])))}>Select all shown</button>
          <label className="inline">
            Status
            <select aria-label="Set status" value="" disabled={!selected.size} onChange={(e) => e.target.value && bulk({ status: e.target.value }, `Status ${statusLabel[e.target.value as TicketStatus]}`)}>
              <option value="">Set status…</option>
              {TicketStatusValues.filter((v) => v !== 'CLOSED').map((v) => <option key={v} value={v}>{statusLabel[v]}</option>)}
            </select>
          </label>
          <label className="inline">
            Assignee
            <select aria-label="Assign to" value="" disabled={!selected.size} onChange={(e) => e.target.value && bulk({ assigneeId: e.target.value }, `Assigned to ${s.users.find((u) => u.id === e.target.value)?.name}`)}>
              <option value="">Assign to…</option>
              {s.users.filter((u) => u.active).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
            </select>
          </label>
          <label className="inline">
            Priority
            <select aria-label="Set priority" value="" disabled={!selected.size} onChange={(e) => e.target.value && bulk({ priority: e.target.value }, `Priority ${priorityLabel[e.target.value as Priority]}`)}>
              <option value="">Set priority…</option>
              {PriorityValues.slice().reverse().map((v) => <option key={v} value={v}>{priorityLabel[v]}</option>)}
            </select>
          </label>
          <button type="button" disabled={!selected.size} onClick={() => exportCsv([...selected.values()])}>Export CSV</button>
          {bulkMsg && <span role="status" className="muted">{bulkMsg}</span>}
        </div>
      )}
      <ErrorText error={error} />
      {!page ? (
        <p className="muted">Loading tickets…</p>
      ) : page.nodes.length === 0 ? (
        <div className="panel">
          <p>No tickets match these filters.</p>
          <div className="row">
            <button type="button" onClick={clearFilters}>Show all tickets</button>
            {s.can('manage') && <Link href="/tickets/new">Create a ticket</Link>}
            {s.can('admin') && <Link href="/admin/routing">Configure routing rules</Link>}
          </div>
        </div>
      ) : (
        <>
          <p className="muted" data-testid="result-count">
            Showing {page.nodes.length} of {formatTotal(page)} tickets
            {page.totalCountCapped && <span title="Lists count matching tickets up to 1,000; narrow the filters for an exact figure."> (counted up to 1,000)</span>}
          </p>
          <div className="cards" data-testid="ticket-list">
            {page.nodes.map((t) => (
              <TicketCard
                key={t.id}
                t={t}
                selecting={selecting}
                selected={selected.has(t.id)}
                onToggle={() => toggle(t)}
                match={page.searchMatches?.find((m) => m.ticketId === t.id)}
              />
            ))}
          </div>
          <LoadMore page={page} onMore={() => void loadMore()} />
        </>
      )}
    </section>
  );
}
