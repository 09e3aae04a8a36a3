// Small shared pieces: badges in the helpdesk's colors, error text and field errors, tabs.
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
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

/** The server's validation error when it names `field`, else null. */
export function fieldError(error: unknown, field: string): string | null {
  return error instanceof ApiError && error.field === field ? error.message : null;
}

/** The error unless it belongs to one of `fields` (shown next to that field instead). */
export function formError(error: unknown, fields: string[]): unknown {
  return error instanceof ApiError && error.field && fields.includes(error.field) ? null : error;
}

/**
 * A labelled input with the server's error on it below: `field` is the input's name in the
 * mutation, so the error lands where the user typed.
 */
export function FieldRow({ label, field, error, hint, children }: { label: string; field: string; error: unknown; hint?: ReactNode; children: (a: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode }) {
  const message = fieldError(error, field);
  const id = `f-${field}`;
  return (
    <div className="field" data-field={field}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': !!message, 'aria-describedby': message ? `${id}-error` : undefined })}
      {hint && <div className="muted hint">{hint}</div>}
      {message && <p className="error" role="alert" id={`${id}-error`}>{message}</p>}
    </div>
  );
}
