// The ticket list's filters as URL query parameters, so a filtered view can be shared.
import type { Priority, SlaFilter, TicketFilterInput, TicketStatus } from '../api/schema';
import { PriorityValues, SlaFilterValues, TicketStatusValues } from '../api/schema';

export interface TicketFilters {
  status: TicketStatus[];
  priority: Priority[];
  assignee: string;
  queueId: string;
  helpTopicId: string;
  sla: SlaFilter | '';
  search: string;
  escalated: boolean;
}

export const emptyFilters: TicketFilters = {
  status: [],
  priority: [],
  assignee: '',
  queueId: '',
  helpTopicId: '',
  sla: '',
  search: '',
  escalated: false,
};

function list<T extends string>(v: string | null, allowed: readonly T[]): T[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter((s): s is T => (allowed as readonly string[]).includes(s));
}

export function filtersFromQuery(q: URLSearchParams): TicketFilters {
  const sla = (q.get('sla') ?? '').toUpperCase();
  return {
    status: list(q.get('status'), TicketStatusValues),
    priority: list(q.get('priority'), PriorityValues),
    assignee: q.get('assignee') ?? '',
    queueId: q.get('queue') ?? '',
    helpTopicId: q.get('topic') ?? '',
    sla: (SlaFilterValues as readonly string[]).includes(sla) ? (sla as SlaFilter) : '',
    search: q.get('q') ?? '',
    escalated: q.get('escalated') === '1',
  };
}

export function filtersToQuery(f: TicketFilters): string {
  const q = new URLSearchParams();
  if (f.status.length) q.set('status', f.status.join(',').toLowerCase());
  if (f.priority.length) q.set('priority', f.priority.join(',').toLowerCase());
  if (f.assignee) q.set('assignee', f.assignee);
  if (f.queueId) q.set('queue', f.queueId);
  if (f.helpTopicId) q.set('topic', f.helpTopicId);
  if (f.sla) q.set('sla', f.sla.toLowerCase());
  if (f.search) q.set('q', f.search);
  if (f.escalated) q.set('escalated', '1');
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function filtersToInput(f: TicketFilters): TicketFilterInput {
  const input: TicketFilterInput = {};
  if (f.status.length) input.status = f.status;
  if (f.priority.length) input.priority = f.priority;
  if (f.assignee) input.assignee = f.assignee;
  if (f.queueId) input.queueId = f.queueId;
  if (f.helpTopicId) input.helpTopicId = f.helpTopicId;
  if (f.sla) input.sla = f.sla;
  if (f.search.trim()) input.search = f.search.trim();
  if (f.escalated) input.escalated = true;
  return input;
}
