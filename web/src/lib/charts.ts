// Plain-SVG chart arithmetic (axis scale and ticks) and the insights' formats, kept apart from
// React so they are unit-tested.

/** A round axis maximum at or above `max` (1, 2, 2.5 or 5 times a power of ten), at least 1. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Evenly spaced axis values from 0 to `niceMax(max)`: 4 steps, or 5 or 2 when 4 would split whole counts. */
export function axisTicks(max: number): number[] {
  const top = niceMax(max);
  const count = top < 4 ? 4 : ([4, 5, 2].find((c) => Number.isInteger(top / c)) ?? 4);
  const step = top / count;
  return Array.from({ length: count + 1 }, (_, i) => Math.round(i * step * 100) / 100);
}

/** "45 min", "2 h 5 min", "3 d 4 h"; "—" when there is no value (no data, never a zero). */
export function formatMinutes(m: number | null | undefined): string {
  if (m == null) return '—';
  const mins = Math.round(m);
  if (mins < 60) return `${mins} min`;
  if (mins < 1440) return mins % 60 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${mins / 60} h`;
  const h = Math.round((mins % 1440) / 60);
  return h ? `${Math.floor(mins / 1440)} d ${h} h` : `${Math.floor(mins / 1440)} d`;
}

/** A share (0 to 1) as a whole percentage; "—" when there is none. */
export function formatShare(v: number | null | undefined): string {
  return v == null ? '—' : `${Math.round(v * 100)}%`;
}

/** A share for a CSV cell: a number with one decimal of percent, empty when there is none. */
export function csvShare(v: number | null | undefined): number | null {
  return v == null ? null : Math.round(v * 1000) / 10;
}
