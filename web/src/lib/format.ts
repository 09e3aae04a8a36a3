// Labels, colors and formats shared by the helpdesk and the portal: one word per concept.
import type { CloseReason, Priority, TicketStatus } from '../api/schema';

export const statusLabel: Record<TicketStatus, string> = {
  OPEN: 'Open',
  IN_PROGRESS: 'In progress',
  WAITING: 'Waiting',
  RESOLVED: 'Resolved',
  CLOSED: 'Closed',
};

export const priorityLabel: Record<Priority, string> = { URGENT: 'Urgent', HIGH: 'High', NORMAL: 'Normal', LOW: 'Low' };

export const closeReasonLabel: Record<CloseReason, string> = {
  RESOLVED: 'Resolved',
  DUPLICATE: 'Duplicate',
  USER_UNRESPONSIVE: 'Requester unresponsive',
  OUT_OF_SCOPE: 'Out of scope',
  SPAM: 'Spam',
  OTHER: 'Other',
};

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "in 3 h", "5 min ago": for SLA due dates. */
export function relative(iso: string, now = Date.now()): string {
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff) / 60000;
  if (abs < 1) return 'now';
  const text = abs < 60 ? `${Math.round(abs)} min` : abs < 48 * 60 ? `${Math.round(abs / 60)} h` : `${Math.round(abs / 1440)} d`;
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

/** A ticket list's total as the API gives it: exact, or counted only as far as a cap. */
export interface ListTotal {
  totalCount: number;
  totalCountCapped: boolean;
}

/** "42", or "1,000+" when the server stopped counting (lists count to 1,000, status tiles to 10,000). */
export function formatTotal(t: ListTotal): string {
  return t.totalCountCapped ? `${t.totalCount.toLocaleString('en-US')}+` : String(t.totalCount);
}

/** Text a spreadsheet would run as a formula (or a DDE command) when it starts the cell. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled. Text that a
 * spreadsheet would take for a formula gets a leading `'` first: cells hold what customers typed
 * (a subject of `=HYPERLINK(...)`), and the agent opening the export must see text, not run it.
 * Numbers are the app's own and stay numbers.
 */
export function toCsv(rows: (string | number | null | undefined)[][]): string {
  const field = (v: string | number | null | undefined) => {
    let s = v == null ? '' : String(v);
    if (typeof v === 'string' && FORMULA_START.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

export function download(fileName: string, text: string, type = 'text/csv;charset=utf-8'): void {
  saveBlob(fileName, new Blob([text], { type }));
}

/** Hands `blob` to the browser as a download named `fileName`. */
export function saveBlob(fileName: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

/** A date as a `datetime-local` input wants it, in the browser's time zone. */
export function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
