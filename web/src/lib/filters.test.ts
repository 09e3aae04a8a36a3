import { describe, expect, it } from 'vitest';
import { emptyFilters, filtersFromQuery, filtersToInput, filtersToQuery } from './filters';
import { toCsv } from './format';

describe('ticket filters in the URL', () => {
  it('round-trips every filter', () => {
    const f = { ...emptyFilters, status: ['OPEN', 'WAITING'] as const, sla: 'OVERDUE' as const, assignee: 'me', search: 'SD-00012' };
    const q = filtersToQuery({ ...f, status: [...f.status] });
    expect(q).toBe('?status=open%2Cwaiting&assignee=me&sla=overdue&q=SD-00012');
    expect(filtersFromQuery(new URLSearchParams(q))).toEqual({ ...f, status: ['OPEN', 'WAITING'] });
  });
  it('drops unknown values instead of sending them to the API', () => {
    const f = filtersFromQuery(new URLSearchParams('status=open,bogus&sla=never&priority=URGENT'));
    expect(filtersToInput(f)).toEqual({ status: ['OPEN'], priority: ['URGENT'] });
  });
});

describe('CSV export', () => {
  it('quotes fields with commas, quotes and line breaks', () => {
    expect(toCsv([['Number', 'Subject'], ['SD-1', 'Refund, "urgent"\nplease']])).toBe(
      'Number,Subject\r\nSD-1,"Refund, ""urgent""\nplease"\r\n',
    );
  });
});
