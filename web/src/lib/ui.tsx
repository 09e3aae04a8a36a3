// Small shared pieces: badges in the helpdesk's colors, error text, tabs.
import type { Priority, TicketStatus } from '../api/schema';
import { priorityLabel, statusLabel } from './format';

export function StatusBadge({ status }: { status: TicketStatus }) {
  return <span className={`badge status-${status}`} data-status={status}>{statusLabel[status]}</span>;
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  return <span className={`badge priority-${priority}`} data-priority={priority}>{priorityLabel[priority]}</span>;
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return <p className="error" role="alert">{error instanceof Error ? error.message : String(error)}</p>;
}

export function Tabs<T extends string>({ tabs, value, onChange }: { tabs: [T, string][]; value: T; onChange: (t: T) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map(([k, label]) => (
        <button key={k} role="tab" type="button" aria-selected={value === k} onClick={() => onChange(k)}>
          {label}
        </button>
      ))}
    </div>
  );
}

/** Marks the page as receiving live updates (`<html data-live="on">`); the browser tests wait for it. */
export function markLive() {
  document.documentElement.dataset.live = 'on';
}
